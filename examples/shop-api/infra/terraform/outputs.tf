output "db_endpoint" {
  description = "PostgreSQL endpoint (host:port)."
  value       = aws_db_instance.shop.endpoint
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret holding the RDS master password (managed by RDS)."
  value       = aws_db_instance.shop.master_user_secret[0].secret_arn
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint."
  value       = aws_elasticache_replication_group.shop.primary_endpoint_address
}

output "invoices_bucket" {
  description = "S3 bucket for invoice PDFs."
  value       = aws_s3_bucket.invoices.bucket
}

output "load_balancer_dns_name" {
  description = "DNS name of the public ALB."
  value       = aws_lb.api.dns_name
}

output "target_group_arn" {
  description = "For the TargetGroupBinding of ingress-nginx."
  value       = aws_lb_target_group.ingress.arn
}

output "shop_api_role_arn" {
  description = "IRSA role for the shop-api ServiceAccount."
  value       = aws_iam_role.shop_api.arn
}

output "kms_key_arn" {
  description = "Customer-managed key for all shop-api data."
  value       = aws_kms_key.shop.arn
}

output "cognito_user_pool_id" {
  description = "Customer user pool; the JWT issuer is derived from it."
  value       = aws_cognito_user_pool.customers.id
}

output "jwt_issuer" {
  description = "Value for JWT_ISSUER."
  value       = "https://cognito-idp.${var.region}.amazonaws.com/${aws_cognito_user_pool.customers.id}"
}
