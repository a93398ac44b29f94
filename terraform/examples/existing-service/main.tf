# trimtab added to a service the team already runs and keeps in its own Terraform: the module
# (create_service = false) creates only the sidecar's log group and budget topic, and hands out
# the sidecar's container definition and the agent's IAM policy as JSON. The team puts the one
# into its task definition, beside the app, and attaches the other to its existing task role. The
# service runs on FARGATE_SPOT, which trimtab's cost report recommends for interruption-tolerant
# services, and ignores desired_count, which from now on belongs to the agent.

variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "eu-central-1"
}

variable "task_role_name" {
  description = "The existing task role of the service (the agent's policy is added to it)."
  type        = string
  default     = "orders-task"
}

variable "execution_role_name" {
  description = "The existing task execution role of the service."
  type        = string
  default     = "orders-exec"
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
  default     = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
}

variable "security_group_ids" {
  description = "Security group of the tasks (HTTPS out)."
  type        = list(string)
  default     = ["sg-0a1b2c3d4e5f60003"]
}

locals {
  cluster = "prod"
  service = "orders"
  cpu     = 1024
  memory  = 2048

  # The team's app container, as it was before trimtab.
  app = {
    name                   = "orders"
    image                  = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/orders:2026.11.1"
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = 8080, hostPort = 8080, protocol = "tcp" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = "/ecs/prod/orders-app"
        awslogs-region        = var.region
        awslogs-stream-prefix = "orders"
      }
    }
  }
}

data "aws_iam_role" "task" {
  name = var.task_role_name
}

data "aws_iam_role" "execution" {
  name = var.execution_role_name
}

module "trimtab" {
  source = "../../"

  create_service = false
  cluster_name   = local.cluster
  service_name   = local.service

  email_subscriptions = ["orders-team@example.com"]

  trimtab_config = <<-TOML
    [service]
    cluster = "${local.cluster}"
    name = "${local.service}"
    region = "${var.region}"
    launch_type = "fargate-spot"
    cpu = ${local.cpu}
    memory = ${local.memory}

    [scaling]
    min = 2
    max = 12

    [[scaling.metrics]]
    name = "cpu"
    source = "ecs"
    target = 65.0

    [budget]
    monthly_usd = 300.0

    [[notify]]
    type = "sns"
    topic_arn = "${module.trimtab.budget_topic_arn}"
  TOML

  tags = {
    Service = local.service
    Team    = "orders"
  }
}

# The agent's permissions, on the team's task role (ECS gives a task one role for all its
# containers).
resource "aws_iam_role_policy" "trimtab" {
  name   = "trimtab"
  role   = data.aws_iam_role.task.id
  policy = module.trimtab.task_policy_json
}

resource "aws_ecs_task_definition" "orders" {
  family                   = local.service
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.cpu
  memory                   = local.memory
  task_role_arn            = data.aws_iam_role.task.arn
  execution_role_arn       = data.aws_iam_role.execution.arn

  # The app as before, and the sidecar beside it.
  container_definitions = jsonencode([
    local.app,
    jsondecode(module.trimtab.sidecar_container_definition_json),
  ])
}

resource "aws_ecs_service" "orders" {
  name                    = local.service
  cluster                 = local.cluster
  task_definition         = aws_ecs_task_definition.orders.arn
  desired_count           = 2
  propagate_tags          = "SERVICE"
  enable_ecs_managed_tags = true

  # Instead of launch_type: all tasks on Spot (the cluster has the FARGATE_SPOT provider).
  capacity_provider_strategy {
    capacity_provider = "FARGATE_SPOT"
    weight            = 1
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = false
  }

  # The agent sets the desired count from now on.
  lifecycle {
    ignore_changes = [desired_count]
  }
}

output "sidecar_log_group" {
  description = "Where the sidecar logs (streams prefixed trimtab/)."
  value       = module.trimtab.log_group_name
}

output "budget_topic_arn" {
  description = "SNS topic receiving the budget alerts."
  value       = module.trimtab.budget_topic_arn
}
