"""Terraform checks over realistic AWS, GCP and Azure configurations: pass, fail, unknown."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prr.collectors.base import Facts
from prr.collectors.terraform import TerraformCollector
from prr.model.evidence import Result, Status
from tests.helpers import by_item, collect, run_check

CHECKS = {
    "infrastructure.terraform.autoscaling": [
        "infrastructure.compute.auto-scaling-configured",
        "performance.capacity-planning.scaling-triggers-defined",
    ],
    "infrastructure.terraform.zones": ["infrastructure.compute.multiple-availability-zones"],
    "infrastructure.terraform.load-balancer": [
        "infrastructure.networking.load-balancer-configured"
    ],
    "infrastructure.terraform.tls": ["infrastructure.networking.ssl-tls-certificates-installed"],
    "infrastructure.terraform.dns": ["infrastructure.networking.dns-configured"],
    "infrastructure.terraform.cdn": ["infrastructure.networking.cdn-configured"],
    "infrastructure.terraform.firewall": ["infrastructure.networking.firewall-rules-reviewed"],
    "infrastructure.terraform.ddos": ["infrastructure.networking.ddos-protection-enabled"],
    "infrastructure.terraform.database": [
        "infrastructure.database.production-database-provisioned",
        "infrastructure.database.read-replicas",
        "infrastructure.database.connection-limits-set",
    ],
    "infrastructure.terraform.storage": [
        "infrastructure.storage.storage-provisioned",
        "infrastructure.storage.lifecycle-policies-set",
        "infrastructure.storage.access-controls-configured",
        "infrastructure.storage.encryption-enabled",
    ],
    "infrastructure.terraform.cache": [
        "infrastructure.caching.cache-layer-provisioned",
        "infrastructure.caching.eviction-policies-set",
        "infrastructure.caching.failover-configured",
    ],
    "security.terraform.encryption-at-rest": ["security.data-security.data-encrypted-at-rest"],
    "security.terraform.encryption-in-transit": [
        "security.data-security.data-encrypted-in-transit",
        "security.network-security.https-enforced",
    ],
    "security.terraform.waf": ["security.network-security.waf-enabled"],
    "security.terraform.exposure": ["security.network-security.internal-services-not-exposed"],
    "security.terraform.secrets": [
        "security.secrets-management.secrets-in-secure-vault",
        "security.secrets-management.secrets-rotation-plan",
    ],
    "security.terraform.iam": ["security.secrets-management.service-accounts-minimal-permissions"],
    "reliability.terraform.backups": [
        "reliability.backup-recovery.database-backups-automated",
        "reliability.backup-recovery.backup-retention-policy",
        "reliability.backup-recovery.point-in-time-recovery",
    ],
    "reliability.terraform.cross-region-backup": [
        "reliability.backup-recovery.cross-region-backup"
    ],
    "reliability.terraform.file-storage-backups": [
        "reliability.backup-recovery.file-storage-backups"
    ],
}
PAIRS = [(check, item) for check, items in CHECKS.items() for item in items]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"))
    return root


def decide(root: Path, check_id: str) -> dict[str, Result]:
    return by_item(run_check(check_id, collect(root, TerraformCollector)))


_COLLECTED: dict[Path, Facts] = {}


def decide_once(root: Path, check_id: str) -> dict[str, Result]:
    """Like :func:`decide` for fixtures that never change: collect them once."""
    if root not in _COLLECTED:
        _COLLECTED[root] = collect(root, TerraformCollector)
    return by_item(run_check(check_id, _COLLECTED[root]))


# --- a production-ready AWS service ----------------------------------------------------

GOOD_AWS = {
    "infra/network.tf": """
    variable "private_subnets" {
      default = ["subnet-0a1", "subnet-0b2", "subnet-0c3"]
    }

    resource "aws_security_group" "alb" {
      name = "shop-alb"
      ingress {
        from_port   = 443
        to_port     = 443
        protocol    = "tcp"
        cidr_blocks = ["0.0.0.0/0"]
      }
      ingress {
        from_port   = 80
        to_port     = 80
        protocol    = "tcp"
        cidr_blocks = ["0.0.0.0/0"]
      }
    }

    resource "aws_security_group" "db" {
      name = "shop-db"
      ingress {
        from_port       = 5432
        to_port         = 5432
        protocol        = "tcp"
        cidr_blocks     = ["10.0.0.0/16"]
      }
    }
    """,
    "infra/lb.tf": """
    resource "aws_lb" "api" {
      name               = "shop-api"
      load_balancer_type = "application"
      subnets            = var.private_subnets
      security_groups    = [aws_security_group.alb.id]
    }

    resource "aws_lb_target_group" "api" {
      name     = "shop-api"
      port     = 8443
      protocol = "HTTPS"
      vpc_id   = "vpc-0abc"
      deregistration_delay = 30
      health_check {
        path     = "/healthz"
        protocol = "HTTPS"
      }
    }

    resource "aws_lb_listener" "http" {
      load_balancer_arn = aws_lb.api.arn
      port              = 80
      protocol          = "HTTP"
      default_action {
        type = "redirect"
        redirect {
          port        = "443"
          protocol    = "HTTPS"
          status_code = "HTTP_301"
        }
      }
    }

    resource "aws_lb_listener" "https" {
      load_balancer_arn = aws_lb.api.arn
      port              = 443
      protocol          = "HTTPS"
      ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
      certificate_arn   = aws_acm_certificate.api.arn
      routing_http_response_strict_transport_security_header_value = "max-age=31536000"
      default_action {
        type             = "forward"
        target_group_arn = aws_lb_target_group.api.arn
      }
    }

    resource "aws_acm_certificate" "api" {
      domain_name       = "api.shop.example.com"
      validation_method = "DNS"
    }

    resource "aws_route53_record" "api" {
      zone_id = "Z0123456789"
      name    = "api.shop.example.com"
      type    = "CNAME"
      ttl     = 300
      records = [aws_lb.api.dns_name]
    }

    resource "aws_route53_record" "www" {
      zone_id = "Z0123456789"
      name    = "www.shop.example.com"
      type    = "A"
      alias {
        name                   = aws_cloudfront_distribution.web.domain_name
        zone_id                = aws_cloudfront_distribution.web.hosted_zone_id
        evaluate_target_health = false
      }
    }

    resource "aws_shield_protection" "api" {
      name         = "shop-api"
      resource_arn = aws_lb.api.arn
    }

    resource "aws_wafv2_web_acl" "api" {
      name  = "shop-api"
      scope = "REGIONAL"
      default_action {
        allow {}
      }
      rule {
        name     = "aws-common"
        priority = 1
        override_action {
          none {}
        }
        statement {
          managed_rule_group_statement {
            name        = "AWSManagedRulesCommonRuleSet"
            vendor_name = "AWS"
          }
        }
        visibility_config {
          cloudwatch_metrics_enabled = true
          metric_name                = "aws-common"
          sampled_requests_enabled   = true
        }
      }
      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "shop-api"
        sampled_requests_enabled   = true
      }
    }

    resource "aws_wafv2_web_acl_association" "api" {
      resource_arn = aws_lb.api.arn
      web_acl_arn  = aws_wafv2_web_acl.api.arn
    }
    """,
    "infra/cdn.tf": """
    resource "aws_cloudfront_response_headers_policy" "security" {
      name = "security"
      security_headers_config {
        strict_transport_security {
          access_control_max_age_sec = 31536000
          include_subdomains         = true
          override                   = true
        }
      }
    }

    resource "aws_cloudfront_distribution" "web" {
      enabled    = true
      web_acl_id = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/abc"
      origin {
        domain_name = aws_s3_bucket.assets.bucket_regional_domain_name
        origin_id   = "assets"
      }
      default_cache_behavior {
        target_origin_id           = "assets"
        viewer_protocol_policy     = "redirect-to-https"
        allowed_methods            = ["GET", "HEAD"]
        cached_methods             = ["GET", "HEAD"]
        response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
      }
      viewer_certificate {
        acm_certificate_arn      = aws_acm_certificate.api.arn
        ssl_support_method       = "sni-only"
        minimum_protocol_version = "TLSv1.2_2021"
      }
      restrictions {
        geo_restriction {
          restriction_type = "none"
        }
      }
    }
    """,
    "infra/compute.tf": """
    resource "aws_autoscaling_group" "api" {
      name                = "shop-api"
      min_size            = 3
      max_size            = 12
      vpc_zone_identifier = var.private_subnets
      target_group_arns   = [aws_lb_target_group.api.arn]
    }

    resource "aws_autoscaling_policy" "cpu" {
      name                   = "shop-api-cpu"
      autoscaling_group_name = aws_autoscaling_group.api.name
      policy_type            = "TargetTrackingScaling"
      target_tracking_configuration {
        predefined_metric_specification {
          predefined_metric_type = "ASGAverageCPUUtilization"
        }
        target_value = 60
      }
    }
    """,
    "infra/db.tf": """
    resource "aws_db_parameter_group" "shop" {
      name   = "shop-pg16"
      family = "postgres16"
      parameter {
        name  = "max_connections"
        value = "500"
        apply_method = "pending-reboot"
      }
      parameter {
        name  = "rds.force_ssl"
        value = "1"
      }
    }

    resource "aws_db_instance" "shop" {
      identifier                  = "shop"
      engine                      = "postgres"
      engine_version              = "16.4"
      instance_class              = "db.r6g.xlarge"
      allocated_storage           = 200
      multi_az                    = true
      storage_encrypted           = true
      kms_key_id                  = aws_kms_key.data.arn
      backup_retention_period     = 14
      manage_master_user_password = true
      parameter_group_name        = aws_db_parameter_group.shop.name
      publicly_accessible         = false
      vpc_security_group_ids      = [aws_security_group.db.id]
    }

    resource "aws_db_instance" "shop_replica" {
      identifier          = "shop-replica"
      replicate_source_db = aws_db_instance.shop.identifier
      instance_class      = "db.r6g.xlarge"
    }

    resource "aws_db_instance_automated_backups_replication" "shop" {
      source_db_instance_arn = aws_db_instance.shop.arn
      retention_period       = 14
    }
    """,
    "infra/cache.tf": """
    resource "aws_elasticache_parameter_group" "redis" {
      name   = "shop-redis7"
      family = "redis7"
      parameter {
        name  = "maxmemory-policy"
        value = "allkeys-lru"
      }
    }

    resource "aws_elasticache_replication_group" "redis" {
      replication_group_id       = "shop"
      description                = "shop sessions and cache"
      engine                     = "redis"
      node_type                  = "cache.r6g.large"
      num_cache_clusters         = 2
      automatic_failover_enabled = true
      multi_az_enabled           = true
      transit_encryption_enabled = true
      at_rest_encryption_enabled = true
      parameter_group_name       = aws_elasticache_parameter_group.redis.name
    }
    """,
    "infra/storage.tf": """
    resource "aws_s3_bucket" "assets" {
      bucket = "shop-assets-prod"
    }

    resource "aws_s3_bucket_versioning" "assets" {
      bucket = aws_s3_bucket.assets.id
      versioning_configuration {
        status = "Enabled"
      }
    }

    resource "aws_s3_bucket_server_side_encryption_configuration" "assets" {
      bucket = aws_s3_bucket.assets.id
      rule {
        apply_server_side_encryption_by_default {
          sse_algorithm     = "aws:kms"
          kms_master_key_id = aws_kms_key.data.arn
        }
      }
    }

    resource "aws_s3_bucket_public_access_block" "assets" {
      bucket                  = aws_s3_bucket.assets.id
      block_public_acls       = true
      block_public_policy     = true
      ignore_public_acls      = true
      restrict_public_buckets = true
    }

    resource "aws_s3_bucket_lifecycle_configuration" "assets" {
      bucket = aws_s3_bucket.assets.id
      rule {
        id     = "old-versions"
        status = "Enabled"
        filter {}
        noncurrent_version_expiration {
          noncurrent_days = 30
        }
      }
    }
    """,
    "infra/security.tf": """
    resource "aws_kms_key" "data" {
      description         = "shop data"
      enable_key_rotation = true
    }

    resource "aws_secretsmanager_secret" "stripe" {
      name = "shop/stripe-api-key"
    }

    resource "aws_secretsmanager_secret_rotation" "stripe" {
      secret_id           = aws_secretsmanager_secret.stripe.id
      rotation_lambda_arn = "arn:aws:lambda:eu-west-1:123456789012:function:rotate-stripe"
      rotation_rules {
        automatically_after_days = 30
      }
    }

    data "aws_iam_policy_document" "app" {
      statement {
        actions   = ["s3:GetObject", "s3:PutObject"]
        resources = ["${aws_s3_bucket.assets.arn}/*"]
      }
      statement {
        actions   = ["secretsmanager:GetSecretValue"]
        resources = [aws_secretsmanager_secret.stripe.arn]
      }
      statement {
        actions   = ["ecr:GetAuthorizationToken"]
        resources = ["*"]
      }
    }

    resource "aws_iam_role_policy" "app" {
      name   = "shop-app"
      role   = "shop-app"
      policy = data.aws_iam_policy_document.app.json
    }
    """,
}

FIELDS = {
    "infrastructure.compute.auto-scaling-configured": {"min_instances": 3, "max_instances": 12},
    "infrastructure.networking.dns-configured": {"dns_ttl": "300s"},
    "security.secrets-management.secrets-rotation-plan": {"rotation_interval": "365d"},
    "reliability.backup-recovery.database-backups-automated": {"backup_frequency": "1d"},
    "reliability.backup-recovery.backup-retention-policy": {"backup_retention": "14d"},
    "reliability.backup-recovery.point-in-time-recovery": {"pitr_window": "14d"},
}


@pytest.fixture(scope="module")
def good_aws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("good"), GOOD_AWS)


@pytest.mark.parametrize(("check_id", "item"), PAIRS)
def test_production_ready_aws_passes(good_aws: Path, check_id: str, item: str) -> None:
    result = decide_once(good_aws, check_id)[item]
    assert result.status is Status.PASS, result.message
    assert result.evidence and all(e.path and e.path.startswith("infra/") for e in result.evidence)
    assert all(e.line for e in result.evidence)
    assert result.fields == FIELDS.get(item, {})


def test_pass_messages_state_the_facts(good_aws: Path) -> None:
    zones = decide(good_aws, "infrastructure.terraform.zones")[
        "infrastructure.compute.multiple-availability-zones"
    ]
    assert "aws_db_instance.shop has a standby in another zone (multi_az = true) (infra/db.tf:" in (
        zones.message
    )
    assert "aws_lb.api spans 3 subnets (infra/lb.tf:4)" in zones.message


# --- the same service with the usual gaps ----------------------------------------------

BAD_AWS = {
    "main.tf": """
    resource "aws_security_group" "app" {
      name = "shop-app"
      ingress {
        from_port   = 22
        to_port     = 22
        protocol    = "tcp"
        cidr_blocks = ["0.0.0.0/0"]
      }
      ingress {
        from_port   = 0
        to_port     = 0
        protocol    = "-1"
        cidr_blocks = ["10.0.0.0/8"]
      }
    }

    resource "aws_security_group_rule" "redis" {
      type              = "ingress"
      from_port         = 6379
      to_port           = 6379
      protocol          = "tcp"
      cidr_blocks       = ["0.0.0.0/0"]
      security_group_id = aws_security_group.app.id
    }

    resource "aws_lb" "api" {
      name               = "shop-api"
      load_balancer_type = "application"
      subnets            = ["subnet-0a1"]
    }

    resource "aws_lb_target_group" "api" {
      name                 = "shop-api"
      port                 = 8080
      protocol             = "HTTP"
      vpc_id               = "vpc-0abc"
      deregistration_delay = 0
      health_check {
        enabled = false
      }
    }

    resource "aws_lb_listener" "http" {
      load_balancer_arn = aws_lb.api.arn
      port              = 80
      protocol          = "HTTP"
      default_action {
        type             = "forward"
        target_group_arn = aws_lb_target_group.api.arn
      }
    }

    resource "aws_acm_certificate" "api" {
      domain_name       = "api.shop.example.com"
      validation_method = "EMAIL"
    }

    resource "aws_route53_record" "api" {
      zone_id = "Z0123456789"
      name    = "api.shop.example.com"
      type    = "A"
      ttl     = 86400
      records = ["203.0.113.10"]
    }

    resource "aws_autoscaling_group" "api" {
      name                = "shop-api"
      min_size            = 2
      max_size            = 2
      vpc_zone_identifier = ["subnet-0a1"]
    }

    resource "aws_appautoscaling_target" "worker" {
      service_namespace  = "ecs"
      scalable_dimension = "ecs:service:DesiredCount"
      resource_id        = "service/shop/worker"
      min_capacity       = 1
      max_capacity       = 4
    }

    resource "aws_ecs_service" "web" {
      name          = "web"
      desired_count = 2
    }

    resource "aws_db_instance" "shop" {
      identifier              = "shop"
      engine                  = "postgres"
      engine_version          = "13.12"
      instance_class          = "db.t3.medium"
      username                = "shop"
      password                = "Sup3rS3cret-db-pass"
      backup_retention_period = 0
      publicly_accessible     = true
    }

    resource "aws_elasticache_cluster" "redis" {
      cluster_id      = "shop"
      engine          = "redis"
      node_type       = "cache.t3.micro"
      num_cache_nodes = 1
    }

    resource "aws_s3_bucket" "uploads" {
      bucket = "shop-uploads"
      acl    = "public-read"
    }

    resource "aws_s3_bucket_versioning" "uploads" {
      bucket = aws_s3_bucket.uploads.id
      versioning_configuration {
        status = "Suspended"
      }
    }

    resource "aws_ebs_volume" "data" {
      availability_zone = "eu-west-1a"
      size              = 100
    }

    resource "aws_efs_file_system" "shared" {
      creation_token = "shop-shared"
    }

    resource "aws_kms_key" "data" {
      description = "shop data"
    }

    resource "aws_secretsmanager_secret" "stripe" {
      name = "shop/stripe"
    }

    resource "aws_ssm_parameter" "db_password" {
      name  = "/shop/db-password"
      type  = "String"
      value = aws_db_instance.shop.password
    }

    resource "aws_iam_role_policy" "app" {
      name = "shop-app"
      role = "shop-app"
      policy = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          Effect   = "Allow"
          Action   = "*"
          Resource = "*"
        }]
      })
    }

    resource "aws_iam_role_policy_attachment" "admin" {
      role       = "shop-app"
      policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    }

    resource "aws_iam_access_key" "ci" {
      user = "ci"
    }
    """,
}

BAD_EXCEPT = {
    # no CDN is not a gap Terraform can prove; storage is provisioned even when it is bad
    "infrastructure.networking.cdn-configured": None,
    "infrastructure.storage.storage-provisioned": Status.PASS,
    "infrastructure.caching.cache-layer-provisioned": Status.PASS,
    "infrastructure.networking.load-balancer-configured": Status.FAIL,
}


@pytest.fixture(scope="module")
def bad_aws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("bad"), BAD_AWS)


@pytest.mark.parametrize(("check_id", "item"), PAIRS)
def test_usual_gaps_fail_with_a_fix(bad_aws: Path, check_id: str, item: str) -> None:
    results = decide_once(bad_aws, check_id)
    expected = BAD_EXCEPT.get(item, Status.FAIL)
    if expected is None:
        assert item not in results
        return
    result = results[item]
    assert result.status is expected, result.message
    if expected is Status.FAIL:
        assert result.remediation, item
        assert "main.tf:" in result.message
        assert all(e.path == "main.tf" and e.line for e in result.evidence)
    assert "Sup3rS3cret" not in result.message + (result.remediation or "")


def test_failure_messages_name_offenders(bad_aws: Path) -> None:
    firewall = decide(bad_aws, "infrastructure.terraform.firewall")[
        "infrastructure.networking.firewall-rules-reviewed"
    ]
    assert "aws_security_group.app allows port 22 from 0.0.0.0/0 (main.tf:3)" in firewall.message
    assert "aws_security_group_rule.redis allows port 6379 from 0.0.0.0/0" in firewall.message
    assert 'cidr_blocks = ["10.0.0.0/8"]' in (firewall.remediation or "")
    scaling = decide(bad_aws, "infrastructure.terraform.autoscaling")
    auto = scaling["infrastructure.compute.auto-scaling-configured"]
    assert "has a fixed size: min 2 = max 2" in auto.message
    assert "aws_appautoscaling_target.worker scales 1..4 but no aws_appautoscaling_policy" in (
        auto.message
    )
    assert "aws_ecs_service.web runs a fixed desired_count = 2" in auto.message
    assert "fields" not in auto.to_dict() or auto.fields == {}
    dns = decide(bad_aws, "infrastructure.terraform.dns")[
        "infrastructure.networking.dns-configured"
    ]
    assert dns.fields == {"dns_ttl": "86400s"} and "ttl = 300" in (dns.remediation or "")
    retention = decide(bad_aws, "reliability.terraform.backups")[
        "reliability.backup-recovery.backup-retention-policy"
    ]
    assert "keeps no backups" in retention.message
    iam = decide(bad_aws, "security.terraform.iam")[
        "security.secrets-management.service-accounts-minimal-permissions"
    ]
    assert "allows wildcard actions *" in iam.message and "AdministratorAccess" in iam.message
    assert "long-lived static access key" in iam.message


def test_literal_secrets_fail_without_showing_them(bad_aws: Path) -> None:
    results = decide(bad_aws, "security.terraform.secrets")
    hardcoded = results["security.secrets-management.no-hardcoded-secrets-in-code"]
    assert hardcoded.status is Status.FAIL
    assert "aws_db_instance.shop sets password to a literal value (main.tf:" in hardcoded.message
    assert "manage_master_user_password = true" in (hardcoded.remediation or "")
    vault = results["security.secrets-management.secrets-in-secure-vault"]
    assert 'aws_ssm_parameter.db_password stores a secret as a plain "String"' in vault.message
    for result in results.values():
        text = result.message + (result.remediation or "") + repr(result.evidence)
        assert "Sup3rS3cret" not in text


# --- unknown: computed values and unreadable files -------------------------------------


@pytest.fixture(scope="module")
def broken_aws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = dict(GOOD_AWS)
    files["infra/modules.tf"] = 'module "extra" {\n  source = "./modules/extra"\n  count = \n'
    return write(tmp_path_factory.mktemp("broken"), files)


@pytest.mark.parametrize(("check_id", "item"), PAIRS)
def test_unparsable_module_file_turns_passes_into_unknown(
    broken_aws: Path, check_id: str, item: str
) -> None:
    result = decide_once(broken_aws, check_id)[item]
    assert result.status is Status.UNKNOWN, result.message
    assert "infra/modules.tf:" in result.message and "could not be parsed" in result.message


@pytest.mark.parametrize(
    ("check_id", "item", "files", "words"),
    [
        (
            "infrastructure.terraform.zones",
            "infrastructure.compute.multiple-availability-zones",
            {
                "db.tf": """
                variable "multi_az" {
                  type = bool
                }
                resource "aws_db_instance" "db" {
                  engine   = "postgres"
                  multi_az = var.multi_az
                }
                """
            },
            "sets multi_az = var.multi_az, computed at apply time",
        ),
        (
            "infrastructure.terraform.autoscaling",
            "infrastructure.compute.auto-scaling-configured",
            {
                "asg.tf": """
                resource "aws_autoscaling_group" "api" {
                  min_size = var.min
                  max_size = var.max
                }
                """
            },
            "has bounds var.min..var.max computed at apply time",
        ),
        (
            "infrastructure.terraform.firewall",
            "infrastructure.networking.firewall-rules-reviewed",
            {
                "sg.tf": """
                resource "aws_security_group" "app" {
                  dynamic "ingress" {
                    for_each = var.ports
                    content {
                      from_port   = ingress.value
                      to_port     = ingress.value
                      protocol    = "tcp"
                      cidr_blocks = ["0.0.0.0/0"]
                    }
                  }
                }
                """
            },
            "computed ports or sources",
        ),
        (
            "security.terraform.iam",
            "security.secrets-management.service-accounts-minimal-permissions",
            {
                "iam.tf": """
                resource "aws_iam_policy" "app" {
                  policy = file("${path.module}/policy.json")
                }
                """
            },
            'takes its policy from file("${path.module}/policy.json")',
        ),
        (
            "infrastructure.terraform.cache",
            "infrastructure.caching.eviction-policies-set",
            {
                "cache.tf": """
                resource "aws_elasticache_replication_group" "redis" {
                  description          = "cache"
                  parameter_group_name = module.params.name
                }
                """
            },
            "uses parameter group module.params.name defined elsewhere",
        ),
        (
            "infrastructure.terraform.cache",
            "infrastructure.caching.failover-configured",
            {"redis.tf": 'resource "google_redis_instance" "c" {\n  tier = var.tier\n}\n'},
            "sets tier = var.tier, computed at apply time",
        ),
        (
            "security.terraform.waf",
            "security.network-security.waf-enabled",
            {"lb.tf": 'resource "aws_lb" "api" {\n  internal = var.internal\n}\n'},
            "aws_lb.api may be internet-facing (computed internal)",
        ),
        (
            "security.terraform.encryption-in-transit",
            "security.data-security.data-encrypted-in-transit",
            {
                "sql.tf": """
                resource "google_sql_database_instance" "db" {
                  settings {
                    ip_configuration {
                      ssl_mode = var.ssl_mode
                    }
                  }
                }
                """
            },
            "sets settings.ip_configuration.ssl_mode = var.ssl_mode",
        ),
    ],
)
def test_computed_values_are_unknown(
    tmp_path: Path, check_id: str, item: str, files: dict[str, str], words: str
) -> None:
    result = decide(write(tmp_path, files), check_id)[item]
    assert result.status is Status.UNKNOWN, result.message
    assert words in result.message


# --- environments, other clouds, no evidence --------------------------------------------


def test_only_production_resources_count(tmp_path: Path) -> None:
    module = """
    variable "multi_az" {
      default = false
    }
    resource "aws_db_instance" "this" {
      engine                  = "postgres"
      multi_az                = var.multi_az
      storage_encrypted       = true
      backup_retention_period = 7
    }
    """
    files = {
        "modules/db/main.tf": module,
        "envs/staging/main.tf": 'module "db" {\n  source = "../../modules/db"\n}\n',
        "envs/production/main.tf": (
            'module "db" {\n  source   = "../../modules/db"\n  multi_az = true\n}\n'
        ),
    }
    root = write(tmp_path, files)
    result = decide(root, "infrastructure.terraform.zones")[
        "infrastructure.compute.multiple-availability-zones"
    ]
    assert result.status is Status.PASS
    assert "module.db.aws_db_instance.this [production]" in result.message
    assert "staging" not in result.message
    (root / "envs" / "production" / "main.tf").write_text(
        'module "db" {\n  source = "../../modules/db"\n}\n'
    )
    failed = decide(root, "infrastructure.terraform.zones")[
        "infrastructure.compute.multiple-availability-zones"
    ]
    assert failed.status is Status.FAIL and "multi_az = true" in (failed.remediation or "")


def test_staging_only_gives_no_opinion(tmp_path: Path) -> None:
    files = {"envs/staging/db.tf": 'resource "aws_db_instance" "db" {\n  engine = "mysql"\n}\n'}
    root = write(tmp_path, files)
    for check_id in CHECKS:
        assert decide(root, check_id) == {}, check_id


def test_no_terraform_gives_no_opinion(tmp_path: Path) -> None:
    root = write(tmp_path, {"app/main.py": "print('hi')\n"})
    for check_id in CHECKS:
        assert decide(root, check_id) == {}, check_id


GOOD_GCP = {
    "gcp/main.tf": """
    resource "google_sql_database_instance" "main" {
      name             = "shop"
      database_version = "POSTGRES_16"
      region           = "europe-west1"
      settings {
        tier              = "db-custom-4-15360"
        availability_type = "REGIONAL"
        backup_configuration {
          enabled                        = true
          point_in_time_recovery_enabled = true
          transaction_log_retention_days = 7
          backup_retention_settings {
            retained_backups = 30
          }
        }
        ip_configuration {
          ipv4_enabled    = false
          private_network = "projects/shop/global/networks/main"
          ssl_mode        = "ENCRYPTED_ONLY"
        }
        database_flags {
          name  = "max_connections"
          value = "400"
        }
      }
    }

    resource "google_redis_instance" "cache" {
      name                    = "shop"
      tier                    = "STANDARD_HA"
      memory_size_gb          = 5
      transit_encryption_mode = "SERVER_AUTHENTICATION"
      redis_configs = {
        "maxmemory-policy" = "allkeys-lru"
      }
    }

    resource "google_storage_bucket" "uploads" {
      name                        = "shop-uploads"
      location                    = "EU"
      uniform_bucket_level_access = true
      public_access_prevention    = "enforced"
      versioning {
        enabled = true
      }
      lifecycle_rule {
        condition {
          num_newer_versions = 5
        }
        action {
          type = "Delete"
        }
      }
    }

    resource "google_compute_autoscaler" "api" {
      name   = "shop-api"
      zone   = "europe-west1-b"
      target = "shop-api-mig"
      autoscaling_policy {
        min_replicas = 2
        max_replicas = 8
        cpu_utilization {
          target = 0.6
        }
      }
    }

    resource "google_project_iam_member" "app_sql" {
      project = "shop"
      role    = "roles/cloudsql.client"
      member  = "serviceAccount:app@shop.iam.gserviceaccount.com"
    }

    resource "google_kms_crypto_key" "data" {
      name            = "data"
      key_ring        = "projects/shop/locations/europe/keyRings/main"
      rotation_period = "7776000s"
    }
    """
}


GCP_GAPS = [
    ('"REGIONAL"', '"ZONAL"'),
    ('"STANDARD_HA"', '"BASIC"'),
    ("redis_configs = {", "labels = {"),
    ('"enforced"', '"inherited"'),
    ("lifecycle_rule {", "custom_placement_config {"),
    ("max_replicas = 8", "max_replicas = 2"),
    ('"ENCRYPTED_ONLY"', '"ALLOW_UNENCRYPTED_AND_ENCRYPTED"'),
    (
        "ipv4_enabled    = false",
        'ipv4_enabled = true\n      authorized_networks {\n        value = "0.0.0.0/0"\n      }',
    ),
    ('"roles/cloudsql.client"', '"roles/editor"'),
    ('rotation_period = "7776000s"', ""),
    ("point_in_time_recovery_enabled = true", "point_in_time_recovery_enabled = false"),
    ("retained_backups = 30", "retained_backups = 3"),
    ('name  = "max_connections"', 'name  = "log_connections"'),
    ("enabled                        = true", "enabled = false"),
    (
        "versioning {\n    enabled = true",
        "soft_delete_policy {\n    retention_duration_seconds = 0",
    ),
]


@pytest.mark.parametrize(
    ("check_id", "item"),
    [
        ("infrastructure.terraform.zones", "infrastructure.compute.multiple-availability-zones"),
        ("infrastructure.terraform.database", "infrastructure.database.connection-limits-set"),
        (
            "infrastructure.terraform.database",
            "infrastructure.database.production-database-provisioned",
        ),
        ("infrastructure.terraform.cache", "infrastructure.caching.failover-configured"),
        ("infrastructure.terraform.cache", "infrastructure.caching.eviction-policies-set"),
        ("infrastructure.terraform.storage", "infrastructure.storage.access-controls-configured"),
        ("infrastructure.terraform.storage", "infrastructure.storage.lifecycle-policies-set"),
        ("infrastructure.terraform.autoscaling", "infrastructure.compute.auto-scaling-configured"),
        (
            "security.terraform.encryption-in-transit",
            "security.data-security.data-encrypted-in-transit",
        ),
        ("security.terraform.exposure", "security.network-security.internal-services-not-exposed"),
        (
            "security.terraform.iam",
            "security.secrets-management.service-accounts-minimal-permissions",
        ),
        ("security.terraform.secrets", "security.secrets-management.secrets-rotation-plan"),
        ("reliability.terraform.backups", "reliability.backup-recovery.point-in-time-recovery"),
        ("reliability.terraform.backups", "reliability.backup-recovery.backup-retention-policy"),
        (
            "reliability.terraform.file-storage-backups",
            "reliability.backup-recovery.file-storage-backups",
        ),
    ],
)
def test_gcp(tmp_path: Path, check_id: str, item: str) -> None:
    root = write(tmp_path, GOOD_GCP)
    result = decide(root, check_id)[item]
    assert result.status is Status.PASS, result.message
    degraded = textwrap.dedent(GOOD_GCP["gcp/main.tf"])
    for before, after in GCP_GAPS:
        assert before in degraded, before
        degraded = degraded.replace(before, after)
    (root / "gcp" / "main.tf").write_text(degraded)
    failed = decide(root, check_id)[item]
    assert failed.status is Status.FAIL, failed.message
    assert failed.remediation and "gcp/main.tf:" in failed.remediation


GOOD_AZURE = {
    "azure/main.tf": """
    resource "azurerm_postgresql_flexible_server" "db" {
      name                         = "shop-db"
      resource_group_name          = "shop"
      location                     = "westeurope"
      sku_name                     = "GP_Standard_D4s_v3"
      delegated_subnet_id          = "/subscriptions/x/subnets/db"
      backup_retention_days        = 14
      geo_redundant_backup_enabled = true
      high_availability {
        mode = "ZoneRedundant"
      }
    }

    resource "azurerm_postgresql_flexible_server_configuration" "max_connections" {
      name      = "max_connections"
      server_id = azurerm_postgresql_flexible_server.db.id
      value     = "400"
    }

    resource "azurerm_redis_cache" "cache" {
      name                          = "shop-cache"
      sku_name                      = "Premium"
      family                        = "P"
      capacity                      = 1
      minimum_tls_version           = "1.2"
      public_network_access_enabled = false
      redis_configuration {
        maxmemory_policy = "allkeys-lru"
      }
    }

    resource "azurerm_storage_account" "files" {
      name                            = "shopfiles"
      account_tier                    = "Standard"
      account_replication_type        = "ZRS"
      allow_nested_items_to_be_public = false
      blob_properties {
        versioning_enabled = true
        delete_retention_policy {
          days = 30
        }
      }
    }

    resource "azurerm_storage_management_policy" "files" {
      storage_account_id = azurerm_storage_account.files.id
      rule {
        name    = "expire"
        enabled = true
      }
    }

    resource "azurerm_role_assignment" "app" {
      scope                = azurerm_storage_account.files.id
      role_definition_name = "Storage Blob Data Contributor"
      principal_id         = "00000000-0000-0000-0000-000000000000"
    }
    """
}


@pytest.mark.parametrize(
    ("check_id", "item", "old", "new"),
    [
        (
            "infrastructure.terraform.zones",
            "infrastructure.compute.multiple-availability-zones",
            '"ZoneRedundant"',
            '"SameZone"',
        ),
        (
            "infrastructure.terraform.cache",
            "infrastructure.caching.failover-configured",
            '"Premium"',
            '"Basic"',
        ),
        (
            "infrastructure.terraform.storage",
            "infrastructure.storage.access-controls-configured",
            "allow_nested_items_to_be_public = false",
            "allow_nested_items_to_be_public = true",
        ),
        (
            "reliability.terraform.cross-region-backup",
            "reliability.backup-recovery.cross-region-backup",
            "geo_redundant_backup_enabled = true",
            "geo_redundant_backup_enabled = false",
        ),
        (
            "security.terraform.iam",
            "security.secrets-management.service-accounts-minimal-permissions",
            '"Storage Blob Data Contributor"',
            '"Owner"',
        ),
        (
            "security.terraform.exposure",
            "security.network-security.internal-services-not-exposed",
            "public_network_access_enabled = false",
            "public_network_access_enabled = true",
        ),
        (
            "reliability.terraform.file-storage-backups",
            "reliability.backup-recovery.file-storage-backups",
            "versioning_enabled = true\n    delete_retention_policy {\n      days = 30\n    }",
            "change_feed_enabled = true",
        ),
    ],
)
def test_azure(tmp_path: Path, check_id: str, item: str, old: str, new: str) -> None:
    root = write(tmp_path, GOOD_AZURE)
    assert decide(root, check_id)[item].status is Status.PASS
    text = (root / "azure" / "main.tf").read_text()
    assert old in text
    (root / "azure" / "main.tf").write_text(text.replace(old, new))
    failed = decide(root, check_id)[item]
    assert failed.status is Status.FAIL, failed.message
    assert failed.remediation


def test_https_without_hsts_gives_no_opinion(tmp_path: Path) -> None:
    files = {
        "lb.tf": GOOD_AWS["infra/lb.tf"].replace(
            'routing_http_response_strict_transport_security_header_value = "max-age=31536000"', ""
        )
    }
    results = decide(write(tmp_path, files), "security.terraform.encryption-in-transit")
    assert "security.network-security.https-enforced" not in results
    assert results["security.data-security.data-encrypted-in-transit"].status is Status.PASS


def test_cloud_sql_backup_location(tmp_path: Path) -> None:
    root = write(tmp_path, GOOD_GCP)
    check = "reliability.terraform.cross-region-backup"
    item = "reliability.backup-recovery.cross-region-backup"
    result = decide(root, check)[item]
    assert result.status is Status.PASS
    assert "multi-region nearest to it (Cloud SQL default)" in result.message
    text = (root / "gcp" / "main.tf").read_text()
    pinned = text.replace(
        "transaction_log_retention_days = 7",
        'transaction_log_retention_days = 7\n      location = "europe-west1"',
    )
    (root / "gcp" / "main.tf").write_text(pinned)
    failed = decide(root, check)[item]
    assert failed.status is Status.FAIL
    assert 'keeps backups in the single region "europe-west1"' in failed.message
