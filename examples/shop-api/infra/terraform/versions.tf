terraform {
  required_version = ">= 1.7.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # One state per environment:
  #   terraform init -backend-config="key=shop-api/staging.tfstate"
  #   terraform apply -var-file=environments/staging.tfvars
  backend "s3" {
    bucket         = "example-shop-terraform-state"
    region         = "eu-west-1"
    dynamodb_table = "terraform-locks"
    encrypt        = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      service     = "shop-api"
      team        = "team-checkout"
      environment = var.environment
      managed-by  = "terraform"
      data-class  = "pii"
    }
  }
}
