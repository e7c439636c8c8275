locals {
  name          = "shop-api-${var.environment}"
  k8s_namespace = var.environment == "production" ? "shop" : "shop-staging"
}

data "aws_caller_identity" "current" {}

# ---------------------------------------------------------------------------
# KMS: one customer-managed key for RDS, ElastiCache, S3, Secrets Manager, backups
# ---------------------------------------------------------------------------

resource "aws_kms_key" "shop" {
  description             = "shop-api ${var.environment} data encryption"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
}

resource "aws_kms_alias" "shop" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.shop.key_id
}

# ---------------------------------------------------------------------------
# Network security
# ---------------------------------------------------------------------------

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Public HTTPS load balancer for shop-api"
  vpc_id      = var.vpc_id
}

resource "aws_security_group_rule" "alb_https_in" {
  type              = "ingress"
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet"
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_blocks       = ["0.0.0.0/0"]
  ipv6_cidr_blocks  = ["::/0"]
}

resource "aws_security_group_rule" "alb_http_in" {
  type              = "ingress"
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the internet, redirected to HTTPS by the listener"
  protocol          = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_blocks       = ["0.0.0.0/0"]
  ipv6_cidr_blocks  = ["::/0"]
}

resource "aws_security_group_rule" "alb_to_nodes" {
  type                     = "egress"
  security_group_id        = aws_security_group.alb.id
  description              = "To ingress-nginx on the EKS nodes"
  protocol                 = "tcp"
  from_port                = 443
  to_port                  = 443
  source_security_group_id = var.eks_node_security_group_id
}

resource "aws_security_group" "db" {
  name        = "${local.name}-postgres"
  description = "PostgreSQL for shop-api, reachable from EKS nodes only"
  vpc_id      = var.vpc_id
}

resource "aws_security_group_rule" "db_from_nodes" {
  type                     = "ingress"
  security_group_id        = aws_security_group.db.id
  description              = "PostgreSQL from EKS nodes"
  protocol                 = "tcp"
  from_port                = 5432
  to_port                  = 5432
  source_security_group_id = var.eks_node_security_group_id
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "Redis for shop-api, reachable from EKS nodes only"
  vpc_id      = var.vpc_id
}

resource "aws_security_group_rule" "redis_from_nodes" {
  type                     = "ingress"
  security_group_id        = aws_security_group.redis.id
  description              = "Redis TLS from EKS nodes"
  protocol                 = "tcp"
  from_port                = 6379
  to_port                  = 6379
  source_security_group_id = var.eks_node_security_group_id
}

# Temporary bastion for the March data migration (INC-2291). Remove after.
resource "aws_security_group" "bastion" {
  name        = "${local.name}-bastion"
  description = "temporary bastion"
  vpc_id      = var.vpc_id
}

resource "aws_security_group_rule" "bastion_ssh" {
  type              = "ingress"
  security_group_id = aws_security_group.bastion.id
  description       = "SSH to the temporary bastion"
  protocol          = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "db_from_bastion" {
  type                     = "ingress"
  security_group_id        = aws_security_group.db.id
  description              = "PostgreSQL from the temporary bastion"
  protocol                 = "tcp"
  from_port                = 5432
  to_port                  = 5432
  source_security_group_id = aws_security_group.bastion.id
}

# ---------------------------------------------------------------------------
# PostgreSQL (RDS, Multi-AZ)
# ---------------------------------------------------------------------------

resource "aws_db_subnet_group" "shop" {
  name       = local.name
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_parameter_group" "shop" {
  name   = "${local.name}-pg16"
  family = "postgres16"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "250"
  }

  parameter {
    name         = "max_connections"
    value        = tostring(var.db_max_connections)
    apply_method = "pending-reboot"
  }

  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }

  parameter {
    name  = "idle_in_transaction_session_timeout"
    value = "60000"
  }

  parameter {
    name  = "log_lock_waits"
    value = "1"
  }

  parameter {
    name  = "log_autovacuum_min_duration"
    value = "1000"
  }
}

resource "aws_db_instance" "shop" {
  identifier     = local.name
  engine         = "postgres"
  engine_version = "16.4"
  instance_class = var.db_instance_class

  db_name                       = "shop"
  username                      = "shop_admin"
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.shop.arn

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_allocated_storage_gb * 5
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.shop.arn

  multi_az               = true
  db_subnet_group_name   = aws_db_subnet_group.shop.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.shop.name

  backup_retention_period   = 14
  backup_window             = "02:00-02:45"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-final"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = aws_kms_key.shop.arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 30
  monitoring_role_arn                   = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  apply_immediately                   = false
}

resource "aws_iam_role" "rds_monitoring" {
  name = "${local.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

# ---------------------------------------------------------------------------
# Redis (ElastiCache, primary + replica across AZs)
# ---------------------------------------------------------------------------

resource "aws_elasticache_subnet_group" "shop" {
  name       = local.name
  subnet_ids = var.private_subnet_ids
}

resource "aws_elasticache_parameter_group" "shop" {
  name   = "${local.name}-redis7"
  family = "redis7"

  parameter {
    name  = "maxmemory-policy"
    value = "allkeys-lru"
  }

  parameter {
    name  = "timeout"
    value = "300"
  }
}

resource "random_password" "redis_auth" {
  length  = 48
  special = false
}

resource "aws_elasticache_replication_group" "shop" {
  replication_group_id = local.name
  description          = "shop-api cache and idempotency keys"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.redis_node_type
  port                 = 6379
  num_cache_clusters   = 2
  parameter_group_name = aws_elasticache_parameter_group.shop.name
  subnet_group_name    = aws_elasticache_subnet_group.shop.name
  security_group_ids   = [aws_security_group.redis.id]

  automatic_failover_enabled = true
  multi_az_enabled           = true

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.shop.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis_auth.result

  snapshot_retention_limit   = 3
  snapshot_window            = "01:00-02:00"
  maintenance_window         = "sun:04:30-sun:05:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false
}

# ---------------------------------------------------------------------------
# S3: invoice PDFs (kept 10 years for tax law)
# ---------------------------------------------------------------------------

resource "aws_s3_bucket" "invoices" {
  bucket = "example-shop-invoices-${var.environment}"
}

resource "aws_s3_bucket_ownership_controls" "invoices" {
  bucket = aws_s3_bucket.invoices.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "invoices" {
  bucket = aws_s3_bucket.invoices.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "invoices" {
  bucket = aws_s3_bucket.invoices.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.shop.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "invoices" {
  bucket                  = aws_s3_bucket.invoices.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "invoices" {
  bucket = aws_s3_bucket.invoices.id

  rule {
    id     = "invoices-retention"
    status = "Enabled"
    filter {
      prefix = "invoices/"
    }
    transition {
      days          = 90
      storage_class = "STANDARD_IA"
    }
    transition {
      days          = 365
      storage_class = "GLACIER_IR"
    }
    expiration {
      days = 3653
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_policy" "invoices" {
  bucket = aws_s3_bucket.invoices.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.invoices.arn, "${aws_s3_bucket.invoices.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}

# ---------------------------------------------------------------------------
# Secrets Manager: application database credentials, rotated every 30 days
# ---------------------------------------------------------------------------

resource "aws_secretsmanager_secret" "database" {
  name                    = "shop-api/${var.environment}/database"
  description             = "shop-api application user for PostgreSQL (url, username, password)"
  kms_key_id              = aws_kms_key.shop.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_rotation" "database" {
  secret_id           = aws_secretsmanager_secret.database.id
  rotation_lambda_arn = var.secrets_rotation_lambda_arn

  rotation_rules {
    automatically_after_days = 30
  }
}

resource "aws_secretsmanager_secret" "redis" {
  name                    = "shop-api/${var.environment}/redis"
  description             = "Redis URL with the ElastiCache AUTH token"
  kms_key_id              = aws_kms_key.shop.arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({
    url = "rediss://:${random_password.redis_auth.result}@${aws_elasticache_replication_group.shop.primary_endpoint_address}:6379/0"
  })
}

resource "aws_secretsmanager_secret" "payment_provider" {
  name                    = "shop-api/${var.environment}/payment-provider"
  description             = "Restricted payment provider key (charges and refunds only); value set by hand, rotated quarterly"
  kms_key_id              = aws_kms_key.shop.arn
  recovery_window_in_days = 7
}

# ---------------------------------------------------------------------------
# Customer identity: Cognito user pool (password policy, MFA, lockout)
# ---------------------------------------------------------------------------

resource "aws_cognito_user_pool" "customers" {
  name                     = "${local.name}-customers"
  deletion_protection      = "ACTIVE"
  mfa_configuration        = "OPTIONAL"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  software_token_mfa_configuration {
    enabled = true
  }

  # Adaptive authentication and compromised-credential checks; Cognito also locks
  # a user out after 5 failed sign-ins (exponential back-off).
  user_pool_add_ons {
    advanced_security_mode = "ENFORCED"
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "aws_cognito_resource_server" "shop_api" {
  identifier   = "shop-api"
  name         = "shop-api"
  user_pool_id = aws_cognito_user_pool.customers.id

  scope {
    scope_name        = "orders:read"
    scope_description = "Read own orders"
  }

  scope {
    scope_name        = "orders:write"
    scope_description = "Place orders"
  }

  scope {
    scope_name        = "account:delete"
    scope_description = "Erase own personal data"
  }
}

resource "aws_cognito_user_pool_client" "storefront" {
  name                                 = "storefront"
  user_pool_id                         = aws_cognito_user_pool.customers.id
  generate_secret                      = false
  explicit_auth_flows                  = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "shop-api/orders:read", "shop-api/orders:write", "shop-api/account:delete"]
  callback_urls                        = ["https://${var.domain_name}/auth/callback"]
  supported_identity_providers         = ["COGNITO"]
  depends_on                           = [aws_cognito_resource_server.shop_api]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true

  access_token_validity  = 30
  id_token_validity      = 30
  refresh_token_validity = 7

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }
}

# ---------------------------------------------------------------------------
# Load balancer, TLS, WAF, DNS
# ---------------------------------------------------------------------------

resource "aws_acm_certificate" "api" {
  domain_name       = var.domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "api_cert_validation" {
  for_each = {
    for dvo in aws_acm_certificate.api.domain_validation_options : dvo.domain_name => {
      name   = dvo.resource_record_name
      record = dvo.resource_record_value
      type   = dvo.resource_record_type
    }
  }

  zone_id = var.hosted_zone_id
  name    = each.value.name
  type    = each.value.type
  records = [each.value.record]
  ttl     = 300
}

resource "aws_acm_certificate_validation" "api" {
  certificate_arn         = aws_acm_certificate.api.arn
  validation_record_fqdns = [for record in aws_route53_record.api_cert_validation : record.fqdn]
}

resource "aws_lb" "api" {
  name                       = local.name
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = true
  idle_timeout               = 60

  access_logs {
    bucket  = var.alb_logs_bucket
    prefix  = "shop-api/${var.environment}"
    enabled = true
  }
}

# Targets are the ingress-nginx pods (registered by the AWS Load Balancer
# Controller's TargetGroupBinding); TLS is re-encrypted to the ingress.
resource "aws_lb_target_group" "ingress" {
  name        = "${local.name}-ingress"
  port        = 443
  protocol    = "HTTPS"
  target_type = "ip"
  vpc_id      = var.vpc_id

  deregistration_delay = 30

  health_check {
    path                = "/healthz"
    protocol            = "HTTPS"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = aws_acm_certificate_validation.api.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.ingress.arn
  }
}

resource "aws_lb_listener" "http_redirect" {
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

resource "aws_wafv2_web_acl" "api" {
  name        = local.name
  description = "shop-api: AWS managed rule groups"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "aws-common"
    priority = 10
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 20
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-sqli"
    priority = 30
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesSQLiRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-sqli"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-ip-reputation"
    priority = 40
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAmazonIpReputationList"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-ip-reputation"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.name
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "api" {
  resource_arn = aws_lb.api.arn
  web_acl_arn  = aws_wafv2_web_acl.api.arn
}

# The organisation subscribes to Shield Advanced; protect the public ALB.
resource "aws_shield_protection" "api" {
  name         = local.name
  resource_arn = aws_lb.api.arn
}

resource "aws_route53_record" "api" {
  zone_id = var.hosted_zone_id
  name    = var.domain_name
  type    = "CNAME"
  ttl     = 300
  records = [aws_lb.api.dns_name]
}

resource "aws_route53_health_check" "api" {
  fqdn              = var.domain_name
  type              = "HTTPS"
  port              = 443
  resource_path     = "/healthz"
  request_interval  = 30
  failure_threshold = 3
}

# ---------------------------------------------------------------------------
# AWS Backup: daily snapshots of RDS and the invoices bucket
# ---------------------------------------------------------------------------

resource "aws_backup_vault" "shop" {
  name        = local.name
  kms_key_arn = aws_kms_key.shop.arn
}

resource "aws_backup_plan" "shop" {
  name = local.name

  rule {
    rule_name                = "daily"
    target_vault_name        = aws_backup_vault.shop.name
    schedule                 = "cron(0 3 * * ? *)"
    start_window             = 60
    completion_window        = 240
    enable_continuous_backup = true

    lifecycle {
      delete_after = 35
    }
  }

  rule {
    rule_name         = "monthly"
    target_vault_name = aws_backup_vault.shop.name
    schedule          = "cron(0 4 1 * ? *)"

    lifecycle {
      cold_storage_after = 30
      delete_after       = 365
    }
  }
}

resource "aws_iam_role" "backup" {
  name = "${local.name}-backup"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "backup.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "backup" {
  role       = aws_iam_role.backup.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
}

resource "aws_iam_role_policy_attachment" "backup_s3" {
  role       = aws_iam_role.backup.name
  policy_arn = "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup"
}

resource "aws_backup_selection" "shop" {
  name         = local.name
  plan_id      = aws_backup_plan.shop.id
  iam_role_arn = aws_iam_role.backup.arn
  resources = [
    aws_db_instance.shop.arn,
    aws_s3_bucket.invoices.arn,
  ]
}

# ---------------------------------------------------------------------------
# IAM for the pods (IRSA): only what shop-api needs
# ---------------------------------------------------------------------------

resource "aws_iam_role" "shop_api" {
  name = local.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = var.eks_oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${var.eks_oidc_provider}:sub" = "system:serviceaccount:${local.k8s_namespace}:shop-api"
          "${var.eks_oidc_provider}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "shop_api" {
  name = "shop-api-least-privilege"
  role = aws_iam_role.shop_api.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvoiceObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "${aws_s3_bucket.invoices.arn}/invoices/*"
      },
      {
        Sid      = "InvoiceKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = aws_kms_key.shop.arn
      },
    ]
  })
}
