variable "environment" {
  description = "Deployment environment: staging or production."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_id" {
  description = "VPC shared with the EKS cluster."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR of the VPC, allowed to reach PostgreSQL and Redis."
  type        = string
  default     = "10.40.0.0/16"
}

variable "private_subnet_ids" {
  description = "Private subnets, one per availability zone (3 AZs)."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for the load balancer, one per availability zone."
  type        = list(string)
}

variable "eks_node_security_group_id" {
  description = "Security group of the EKS worker nodes."
  type        = string
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (for IRSA)."
  type        = string
}

variable "eks_oidc_provider" {
  description = "Host/path of the EKS OIDC issuer, without https://."
  type        = string
}

variable "domain_name" {
  description = "Public host name of the API."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route 53 zone holding domain_name."
  type        = string
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.r6g.large"
}

variable "db_allocated_storage_gb" {
  description = "Initial RDS storage; autoscaling up to 5x."
  type        = number
  default     = 100
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections: 12 pods (HPA max) x 4 workers x 15 pooled connections = 720, plus headroom."
  type        = number
  default     = 800
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "secrets_rotation_lambda_arn" {
  description = "The platform team's shared PostgreSQL rotation Lambda."
  type        = string
}

variable "alb_logs_bucket" {
  description = "Platform bucket receiving ALB access logs."
  type        = string
}
