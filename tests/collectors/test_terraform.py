"""The Terraform collector: values, references, environments, modules and bad input."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from prr.collectors.terraform import (
    TerraformCollector,
    TerraformFacts,
    Unresolved,
    environment_of,
)
from tests.helpers import collect


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def facts_of(root: Path) -> tuple[TerraformFacts, list[str]]:
    facts = collect(root, TerraformCollector)
    errors = [str(e) for e in facts.errors if e.collector == "terraform"]
    return facts.get(TerraformFacts), errors


DB = """
variable "env" {
  type    = string
  default = "production"
}

variable "retention_days" {
  default = 14
}

variable "db_password" {
  type      = string
  sensitive = true
}

locals {
  name = "shop-${var.env}"
}

resource "aws_db_instance" "main" {
  identifier              = local.name
  engine                  = "postgres"
  multi_az                = true
  backup_retention_period = var.retention_days
  password                = var.db_password
  kms_key_id              = aws_kms_key.db.arn
  tags = {
    "team/owner" = "checkout"
    Name         = "db \\"main\\""
  }

  lifecycle {
    prevent_destroy = true
  }
}
"""


def test_literals_are_unquoted_and_expressions_stay_unresolved(tmp_path: Path) -> None:
    facts, errors = facts_of(write(tmp_path, {"infra/db.tf": DB}))
    assert errors == []
    (db,) = facts.of_type("aws_db_instance")
    assert db.path == "infra/db.tf" and db.line == 19
    assert db.get("engine") == "postgres"
    assert db.get("multi_az") is True
    assert db.get("identifier") == "shop-production"  # local → var default
    assert db.get("backup_retention_period") == 14
    assert db.get("password") == Unresolved("var.db_password")  # no default
    assert db.get("kms_key_id") == Unresolved("aws_kms_key.db.arn")
    assert db.get("tags") == {"team/owner": "checkout", "Name": 'db "main"'}
    assert db.get("lifecycle", "prevent_destroy") is True
    assert db.line_of("multi_az") == 22
    assert db.line_of("lifecycle") == 31
    assert db.line_of("nonexistent") == 19
    variables = {v.name: v for v in facts.variables}
    assert variables["db_password"].sensitive and not variables["db_password"].has_default
    assert variables["retention_days"].default == 14


def test_heredocs_jsonencode_and_dynamic_blocks(tmp_path: Path) -> None:
    files = {
        "main.tf": """
        resource "aws_iam_role_policy" "app" {
          name = "app"
          role = aws_iam_role.app.id
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{
              Effect   = "Allow"
              Action   = ["s3:GetObject"]
              Resource = "${aws_s3_bucket.uploads.arn}/*"
            }]
          })
        }

        resource "aws_iam_policy" "legacy" {
          policy = <<-EOT
            {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
          EOT
        }

        resource "aws_security_group" "app" {
          dynamic "ingress" {
            for_each = var.ports
            content {
              from_port   = ingress.value
              to_port     = ingress.value
              protocol    = "tcp"
              cidr_blocks = ["10.0.0.0/8"]
            }
          }
        }
        """
    }
    facts, _ = facts_of(write(tmp_path, files))
    (policy,) = facts.of_type("aws_iam_role_policy")
    statement = policy.get("policy")["Statement"][0]
    assert statement["Action"] == ["s3:GetObject"]
    assert isinstance(statement["Resource"], Unresolved) and statement["Resource"].template
    (legacy,) = facts.of_type("aws_iam_policy")
    assert legacy.get("policy").strip().startswith('{"Statement"')
    (group,) = facts.of_type("aws_security_group")
    (ingress,) = group.blocks("ingress")
    assert ingress["from_port"] == Unresolved("ingress.value")
    assert ingress["cidr_blocks"] == ["10.0.0.0/8"]


def test_references_between_resources(tmp_path: Path) -> None:
    files = {
        "s3.tf": """
        resource "aws_s3_bucket" "uploads" {
          bucket = "shop-uploads"
        }
        resource "aws_s3_bucket" "uploads_logs" {
          bucket = "shop-uploads-logs"
        }
        resource "aws_s3_bucket_versioning" "uploads" {
          bucket = aws_s3_bucket.uploads.id
          versioning_configuration {
            status = "Enabled"
          }
        }
        resource "aws_s3_bucket_public_access_block" "logs" {
          bucket = "shop-uploads-logs"
        }
        """
    }
    facts, _ = facts_of(write(tmp_path, files))
    uploads, logs = facts.of_type("aws_s3_bucket")
    assert [r.name for r in facts.referencing(uploads, "aws_s3_bucket_versioning")] == ["uploads"]
    assert facts.referencing(logs, "aws_s3_bucket_versioning") == []
    assert [r.name for r in facts.referencing(logs, "aws_s3_bucket_public_access_block")] == [
        "logs"
    ]


def test_environments_from_directories_and_module_inputs(tmp_path: Path) -> None:
    files = {
        "modules/db/main.tf": """
        variable "env" {}
        variable "multi_az" {
          default = false
        }
        resource "aws_db_instance" "this" {
          identifier = "shop-${var.env}"
          multi_az   = var.multi_az
        }
        """,
        "envs/production/main.tf": """
        module "db" {
          source   = "../../modules/db"
          env      = "production"
          multi_az = true
        }
        """,
        "envs/staging/main.tf": """
        module "db" {
          source = "../../modules/db"
          env    = "staging"
        }
        """,
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert errors == []
    everywhere = facts.of_type("aws_db_instance", production=False)
    by_env = {r.environment: r for r in everywhere}
    assert set(by_env) == {"production", "staging"}
    assert by_env["production"].get("multi_az") is True
    assert by_env["staging"].get("multi_az") is False
    assert by_env["production"].address == "module.db.aws_db_instance.this"
    assert by_env["production"].via == "envs/production/main.tf:1"
    assert by_env["production"].path == "modules/db/main.tf"
    assert [r.environment for r in facts.of_type("aws_db_instance")] == ["production"]
    assert {m.local_dir for m in facts.modules} == {"modules/db"}
    assert {s.directory for s in facts.stacks} == {"envs/production", "envs/staging"}


def test_environments_from_tfvars(tmp_path: Path) -> None:
    files = {
        "infra/main.tf": """
        variable "instance_count" {
          default = 1
        }
        resource "aws_rds_cluster_instance" "db" {
          count      = var.instance_count
          identifier = "db"
        }
        """,
        "infra/terraform.tfvars": 'region = "eu-west-1"\n',
        "infra/envs/production.tfvars": "instance_count = 3\n",
        "infra/envs/staging.tfvars": "instance_count = 0\n",
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert errors == []
    (stack,) = facts.stacks
    assert stack.environments == ("production", "staging")
    # count = 0 in staging: the resource does not exist there
    found = facts.of_type("aws_rds_cluster_instance", production=False)
    assert [(r.environment, r.get("count")) for r in found] == [("production", 3)]
    var_files = {v.path: v for v in facts.var_files}
    assert var_files["infra/envs/production.tfvars"].directory == "infra"
    assert var_files["infra/envs/production.tfvars"].lines["instance_count"] == 1


def test_environment_names() -> None:
    assert environment_of("envs/prod/main.tf") == "production"
    assert environment_of("live/prod-eu/main.tf") == "production"
    assert environment_of("environments/stg") == "staging"
    assert environment_of("modules/dev-tools/main.tf") is None
    assert environment_of("infra/main.tf") is None
    assert environment_of("examples/basic/main.tf") == "example"
    assert environment_of("deploy/canary", {"canary": "production"}) == "production"


def test_tf_json(tmp_path: Path) -> None:
    files = {
        "gen/main.tf.json": """
        {
          "variable": {"tier": {"default": "STANDARD_HA"}},
          "resource": {
            "google_redis_instance": {
              "cache": {
                "name": "cache",
                "tier": "${var.tier}",
                "memory_size_gb": 4,
                "redis_configs": {"maxmemory-policy": "allkeys-lru"}
              }
            }
          }
        }
        """
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert errors == []
    (redis,) = facts.of_type("google_redis_instance")
    assert redis.get("tier") == "STANDARD_HA"
    assert redis.get("redis_configs") == {"maxmemory-policy": "allkeys-lru"}
    assert redis.line == 5


def test_malformed_hcl_is_an_error_with_a_line_and_no_content(tmp_path: Path) -> None:
    files = {
        "infra/good.tf": 'resource "aws_s3_bucket" "ok" {\n  bucket = "ok"\n}\n',
        "infra/bad.tf": (
            'resource "aws_db_instance" "db" {\n'
            '  password = "hunter2-secret-value"\n'
            "  multi_az = \n"
            "}\n"
        ),
        "infra/bad.tf.json": '{"resource": {"aws_s3_bucket": ',
        "infra/bad.tfvars": "x = [\n",
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert [r.address for r in facts.resources] == ["aws_s3_bucket.ok"]
    by_path = {u.path: u for u in facts.unparsed}
    assert by_path["infra/bad.tf"].line == 3
    assert by_path["infra/bad.tf"].resource_types == ("aws_db_instance",)
    assert by_path["infra/bad.tfvars"].var_file
    assert "infra/bad.tf.json" in by_path
    assert any(e.startswith("infra/bad.tf:3: Terraform file invalid syntax") for e in errors)
    assert not any("hunter2" in e for e in errors)
    # a broken file that declares databases makes database evidence uncertain, not buckets
    assert facts.unparsed_for("aws_db_instance")
    assert [u.path for u in facts.unparsed_for("aws_kms_key")] == ["infra/bad.tfvars"]


def test_binary_invalid_utf8_empty_and_huge_files(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "a/binary.tf": b"\x00\x01resource\x00",
        "a/latin1.tf": b'resource "aws_s3_bucket" "caf\xe9" {}\n',
        "a/empty.tf": "",
        "a/comments.tf": "# nothing here\n",
        "a/huge.tf": "# pad\n" * 400_000,
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert facts.resources == ()
    joined = "\n".join(errors)
    assert "a/binary.tf: binary file" in joined
    assert "a/latin1.tf: invalid UTF-8 at line 1" in joined
    assert "a/huge.tf" in joined
    assert "a/empty.tf" not in joined
    assert {u.path for u in facts.unparsed} == {"a/binary.tf", "a/latin1.tf", "a/huge.tf"}
    assert all(not u.scanned for u in facts.unparsed)


def test_no_terraform_gives_empty_facts(tmp_path: Path) -> None:
    facts, errors = facts_of(write(tmp_path, {"README.md": "# app\n"}))
    assert facts == TerraformFacts()
    assert errors == []


def test_module_cycles_do_not_loop(tmp_path: Path) -> None:
    files = {
        "root/main.tf": 'module "a" {\n  source = "../a"\n}\n',
        "a/main.tf": 'module "b" {\n  source = "../b"\n}\nresource "aws_sqs_queue" "q" {}\n',
        "b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
    }
    facts, errors = facts_of(write(tmp_path, files))
    assert errors == []
    assert [r.address for r in facts.resources] == ["module.a.aws_sqs_queue.q"]


def test_many_files_parse_the_same_as_few(tmp_path: Path) -> None:
    """Past a few dozen files parsing runs in worker processes; results keep file order."""
    files: dict[str, str | bytes] = {
        f"stacks/s{n:02d}/main.tf": (
            f'resource "aws_sqs_queue" "q{n}" {{\n  name = "q{n}"\n}}\n'
            f'resource "aws_sqs_queue_policy" "q{n}" {{\n  queue_url = aws_sqs_queue.q{n}.id\n}}\n'
        )
        for n in range(60)
    }
    files["stacks/s07/broken.tf"] = 'resource "aws_sqs_queue" "x" {\n  name = \n'
    facts, errors = facts_of(write(tmp_path, files))
    queues = facts.of_type("aws_sqs_queue")
    assert [q.name for q in queues] == [f"q{n}" for n in range(60)]
    assert [p.name for p in facts.referencing(queues[42], "aws_sqs_queue_policy")] == ["q42"]
    assert [u.path for u in facts.unparsed] == ["stacks/s07/broken.tf"]
    assert errors == [
        "stacks/s07/broken.tf:2: Terraform file invalid syntax at column 10 (terraform)"
    ]
