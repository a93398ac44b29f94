# A web service behind an existing ALB target group, scaled by trimtab on CPU, memory and the
# app's p95 latency, with more capacity in business hours and a $500 monthly budget whose alerts
# go to an e-mail address through the module's SNS topic.

variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "eu-central-1"
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
  default     = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
}

variable "security_group_ids" {
  description = "Security group of the tasks (ALB -> 8080 in, HTTPS out)."
  type        = list(string)
  default     = ["sg-0a1b2c3d4e5f60003"]
}

variable "target_group_arn" {
  description = "ALB target group of the web service (target type ip, port 8080)."
  type        = string
  default     = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/web/0123456789abcdef"
}

locals {
  cluster = "prod"
  service = "web"
}

module "trimtab" {
  source = "../../"

  cluster_name  = local.cluster
  service_name  = local.service
  desired_count = 2
  cpu           = 512
  memory        = 1024

  app_image = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/web:2026.11.1"
  app_port  = 8080
  app_environment = {
    PORT      = "8080"
    LOG_LEVEL = "info"
  }
  app_health_check = {
    command      = ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1"]
    start_period = 30
  }

  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  load_balancer = {
    target_group_arn = var.target_group_arn
    container_port   = 8080
  }

  email_subscriptions = ["platform-team@example.com"]

  # The topic ARN is a module output fed back into the config: Terraform creates the topic
  # first (it does not depend on the config), then the task definition.
  trimtab_config = <<-TOML
    [agent]
    interval = "15s"

    [service]
    cluster = "${local.cluster}"
    name = "${local.service}"
    region = "${var.region}"
    launch_type = "fargate"
    cpu = 512
    memory = 1024

    [scaling]
    template = "web-balanced"
    min = 2
    max = 20

    [[scaling.metrics]]
    name = "cpu"
    source = "ecs"
    weight = 0.4
    target = 70.0

    [[scaling.metrics]]
    name = "memory"
    source = "ecs"
    weight = 0.2
    target = 80.0

    [[scaling.metrics]]
    name = "latency_p95_ms"
    source = "prometheus"
    url = "http://127.0.0.1:8080/metrics"
    histogram = "http_request_duration_seconds"
    quantile = 0.95
    scale = 1000.0
    weight = 0.4
    target = 500.0

    [[schedule]]
    name = "business-hours"
    cron = "0 8 * * MON-FRI"
    duration = "10h"
    timezone = "Europe/Berlin"
    min = 4
    max = 30

    [budget]
    monthly_usd = 500.0
    warn_at = 0.75
    critical_at = 0.90
    timezone = "Europe/Berlin"

    [[notify]]
    type = "sns"
    topic_arn = "${module.trimtab.budget_topic_arn}"

    [alarms]
    enabled = true
  TOML

  tags = {
    Service = local.service
    Team    = "platform"
  }
}

output "service_arn" {
  description = "ARN of the web service."
  value       = module.trimtab.service_arn
}

output "budget_topic_arn" {
  description = "SNS topic receiving the budget alerts."
  value       = module.trimtab.budget_topic_arn
}
