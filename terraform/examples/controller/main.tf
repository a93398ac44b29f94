# Three controller tasks in the "platform" cluster scaling every service of "prod" and "staging"
# that carries the trimtab:policy tag (its value names the policy), plus one listed service that
# carries no tag. Operators pause and override from their laptops:
#   trimtab pause --cluster prod --service checkout
#   trimtab override --cluster prod --service checkout --count 12 --for 2h --reason launch

variable "region" {
  description = "AWS region of the clusters."
  type        = string
  default     = "eu-central-1"
}

variable "subnet_ids" {
  description = "Private subnets of the controller's tasks."
  type        = list(string)
  default     = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
}

variable "security_group_ids" {
  description = "Security group of the controller's tasks (HTTPS out, nothing in)."
  type        = list(string)
  default     = ["sg-0a1b2c3d4e5f60003"]
}

locals {
  cluster = "platform"
  service = "trimtab-controller"
}

module "controller" {
  source = "../../controller"

  cluster_name  = local.cluster
  service_name  = local.service
  desired_count = 3

  managed_clusters  = ["prod", "staging"]
  untagged_services = ["prod/legacy-billing"]

  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids

  trimtab_config = <<-TOML
    [controller]
    region = "${var.region}"
    cluster = "${local.cluster}"
    service = "${local.service}"
    container = "trimtab"

    [discovery]
    clusters = ["prod", "staging"]
    tag = "trimtab:policy"
    interval = "5m"

    [policies.web]
    template = "web-balanced"
    min = 2
    max = 40

    [[services]]
    cluster = "prod"
    name = "legacy-billing"
    policy = "web"
  TOML

  tags = {
    Team = "platform"
  }
}

output "controller_service_arn" {
  description = "ARN of the controller's service."
  value       = module.controller.service_arn
}

output "controller_task_role_arn" {
  description = "ARN of the controller's task role."
  value       = module.controller.task_role_arn
}
