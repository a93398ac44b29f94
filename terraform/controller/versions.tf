# Provider requirements of the trimtab fleet controller module. The AWS provider v5 or v6: the
# provider's region is read in a way that works on both (local.region in main.tf).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}
