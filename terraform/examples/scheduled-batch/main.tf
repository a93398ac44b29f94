# A queue worker that runs batch jobs: the app reserves slots of the agent's `jobs` pool for each
# job (POST 127.0.0.1:9464/pools/jobs/reservations), the pool's pressure scales the service, a
# nightly window raises capacity for the batch run and a weekend window lowers it. The agent may
# right-size the task (vertical_apply), and budget alerts go to an HTTPS endpoint. One task runs
# on demand, the rest on Fargate Spot; the database password comes from Secrets Manager.

variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "us-east-1"
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
  default     = ["subnet-0f1e2d3c4b5a60001", "subnet-0f1e2d3c4b5a60002", "subnet-0f1e2d3c4b5a60003"]
}

variable "security_group_ids" {
  description = "Security group of the tasks (no inbound, HTTPS out)."
  type        = list(string)
  default     = ["sg-0f1e2d3c4b5a60004"]
}

locals {
  cluster = "batch"
  service = "report-worker"
}

module "trimtab" {
  source = "../../"

  cluster_name  = local.cluster
  service_name  = local.service
  desired_count = 1
  cpu           = 1024
  memory        = 2048

  app_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/report-worker:1.14.0"
  app_environment = {
    QUEUE_URL        = "https://sqs.us-east-1.amazonaws.com/123456789012/reports"
    TRIMTAB_POOL_URL = "http://127.0.0.1:9464/pools/jobs/reservations"
  }
  # The execution role may read this secret and nothing else.
  app_secrets = {
    DATABASE_PASSWORD = "arn:aws:secretsmanager:us-east-1:123456789012:secret:report-worker/db-Xy12Ab:password::"
  }

  # The first task on demand, every further one on Spot (the cluster has both providers).
  capacity_provider_strategy = [
    { capacity_provider = "FARGATE", base = 1, weight = 0 },
    { capacity_provider = "FARGATE_SPOT", weight = 1 },
  ]

  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids

  vertical_apply = true

  https_subscriptions = ["https://hooks.example.com/trimtab/budget"]

  trimtab_config = <<-TOML
    [service]
    cluster = "${local.cluster}"
    name = "${local.service}"
    region = "${var.region}"
    # A mix of on-demand and Spot is priced on demand: the estimates err high.
    launch_type = "fargate"
    cpu = 1024
    memory = 2048

    [scaling]
    template = "web-balanced"
    min = 1
    max = 12
    scale_in_cooldown = "10m"
    scale_in_stabilization = "15m"

    [[scaling.metrics]]
    name = "jobs_pool"
    source = "pools"
    pool = "jobs"
    weight = 0.7
    target = 80

    [[scaling.metrics]]
    name = "cpu"
    source = "ecs"
    weight = 0.3
    target = 75.0

    [pools.jobs]
    capacity = 8
    unit = "jobs"
    preemption = true
    max_wait = "5m"
    default_ttl = "30m"
    max_ttl = "2h"

    [[schedule]]
    name = "nightly-batch"
    cron = "0 1 * * *"
    duration = "4h"
    timezone = "America/New_York"
    min = 4
    max = 24
    priority = 10

    [[schedule]]
    name = "weekend"
    cron = "0 0 * * SAT"
    duration = "48h"
    timezone = "America/New_York"
    max = 4

    [budget]
    monthly_usd = 300.0
    warn_at = 0.8
    critical_at = 0.95
    cap = "critical"
    timezone = "America/New_York"

    [[notify]]
    type = "sns"
    topic_arn = "${module.trimtab.budget_topic_arn}"

    [vertical]
    mode = "apply"
    interval = "24h"
  TOML

  tags = {
    Service = local.service
    Team    = "data"
  }
}

output "service_name" {
  description = "Name of the worker service."
  value       = module.trimtab.service_name
}

output "task_role_arn" {
  description = "Task role: attach the app's own permissions (SQS) to it."
  value       = module.trimtab.task_role_arn
}
