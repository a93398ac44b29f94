# Provider requirements of the trimtab ECS sidecar module. The module itself (task definition
# with the sidecar, service, least-privilege task role, SNS topic) is built in its own issue.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
