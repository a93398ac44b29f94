################################################################################
# trimtab fleet controller: an ECS service of N tasks that together scale many services. Each
# task is a member while its trimtab container is HEALTHY (the container health check below);
# the members share the managed services among themselves. Its task role may read and list the
# managed clusters' services, but scale and tag only those that carry the policy tag.
################################################################################

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  # The provider's region: `region` on AWS provider v6, `name` on v5 (which has no `region`; v6
  # deprecates `name`). The whole object, then try(): see local.region in ../main.tf.
  region_data = data.aws_region.current
  region      = try(local.region_data.region, local.region_data.name)
  ecs_arn     = "arn:${local.partition}:ecs:${local.region}:${local.account_id}"
  launch_type = length(var.capacity_provider_strategy) > 0 ? null : coalesce(var.launch_type, "FARGATE")

  cluster_arn          = "${local.ecs_arn}:cluster/${var.cluster_name}"
  managed_cluster_arns = [for c in var.managed_clusters : "${local.ecs_arn}:cluster/${c}"]
  managed_service_arns = [for c in var.managed_clusters : "${local.ecs_arn}:service/${c}/*"]
  untagged_arns        = [for s in var.untagged_services : "${local.ecs_arn}:service/${s}"]
  log_group_name       = coalesce(var.log_group_name, "/ecs/${var.cluster_name}/${var.service_name}")
  role_name_stem       = substr("${var.cluster_name}-${var.service_name}", 0, 32) # name_prefix: at most 38 characters
  config_from_ssm      = var.trimtab_config_ssm_parameter_arn != null

  environment = concat(
    [
      { name = "AWS_REGION", value = local.region },
      { name = "TRIMTAB_LOG_FORMAT", value = "json" },
    ],
    local.config_from_ssm ? [] : [{ name = "TRIMTAB_CONFIG", value = var.trimtab_config }],
  )

  # The name is the member container of [controller] container (default "trimtab"): its ECS
  # health status decides membership.
  trimtab_container = {
    name      = "trimtab"
    image     = var.trimtab_image
    essential = true
    command   = ["run"]
    # It keeps its state in memory, its tags and CloudWatch, and writes no files.
    readonlyRootFilesystem = true
    environment            = local.environment
    secrets = local.config_from_ssm ? [{
      name      = "TRIMTAB_CONFIG"
      valueFrom = var.trimtab_config_ssm_parameter_arn
    }] : []
    # On SIGTERM trimtab waits for the desired-count changes already sent (at most 8 s) and
    # exits within 10 s (SHUTDOWN_BOUND in src/agent/run.rs): 15 s before SIGKILL leaves room,
    # as in the sidecar module. tests/agent_bounds.rs keeps both in step.
    stopTimeout = 15
    # Membership: a task whose controller stops answering /healthz turns UNHEALTHY and its
    # services move to the other members.
    healthCheck = {
      command     = ["CMD", "trimtab", "health"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.log_group_name
        awslogs-region        = local.region
        awslogs-stream-prefix = "trimtab"
      }
    }
  }
}

################################################################################
# Logs
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_kms_key_id
  tags              = var.tags
}

################################################################################
# Task definition and service
################################################################################

resource "aws_ecs_task_definition" "this" {
  family                   = var.service_name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = aws_iam_role.execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([local.trimtab_container])

  tags = var.tags

  lifecycle {
    precondition {
      condition     = (var.trimtab_config == null) != (var.trimtab_config_ssm_parameter_arn == null)
      error_message = "Set exactly one of trimtab_config (the TOML text) and trimtab_config_ssm_parameter_arn."
    }
  }
}

# Terraform owns the count: the controller scales other services, never its own.
resource "aws_ecs_service" "this" {
  name                               = var.service_name
  cluster                            = local.cluster_arn
  task_definition                    = aws_ecs_task_definition.this.arn
  desired_count                      = var.desired_count
  launch_type                        = local.launch_type
  platform_version                   = var.platform_version
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  # FARGATE_SPOT suits the controller: an interrupted member's services move to the others.
  dynamic "capacity_provider_strategy" {
    for_each = var.capacity_provider_strategy
    content {
      capacity_provider = capacity_provider_strategy.value.capacity_provider
      weight            = capacity_provider_strategy.value.weight
      base              = capacity_provider_strategy.value.base
    }
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = var.security_group_ids
    assign_public_ip = var.assign_public_ip
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.launch_type == null || length(var.capacity_provider_strategy) == 0
      error_message = "Set launch_type or capacity_provider_strategy, not both: a service with a capacity provider strategy has no launch type."
    }
  }
}

################################################################################
# IAM: trust policy shared by both roles (ECS tasks of this account only)
################################################################################

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "EcsTasksAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.ecs_arn}:*"]
    }
  }
}

################################################################################
# IAM: task role (what the controller may do). tests/iam.rs checks that the actions below are
# exactly trimtab::aws::CONTROLLER_OPERATIONS. Which ECS actions take which condition keys is
# from the Service Authorization Reference, "Actions, resources, and condition keys for Amazon
# Elastic Container Service": UpdateService on a service takes aws:ResourceTag/${TagKey};
# ListServices has no resource type (only ecs:cluster); ListTasks and DescribeTasks take
# ecs:cluster; DescribeTaskDefinition, GetMetricData and PutMetricData have no resource type. The controller never
# writes tags: operators set pause and override with their own credentials (trimtab pause).
################################################################################

data "aws_iam_policy_document" "task" {

  # Discovery reads every service of the managed clusters, tagged or not, to find the tagged
  # ones, ten a call: a tag condition here would fail a whole batch on one untagged service.
  statement {
    sid       = "ReadManagedServices"
    effect    = "Allow"
    actions   = ["ecs:DescribeServices"]
    resources = local.managed_service_arns
  }

  statement {
    sid       = "ListManagedServices"
    effect    = "Allow"
    actions   = ["ecs:ListServices"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = local.managed_cluster_arns
    }
  }

  # Scale only the services that carry the policy tag.
  statement {
    sid       = "ScaleTaggedServices"
    effect    = "Allow"
    actions   = ["ecs:UpdateService"]
    resources = local.managed_service_arns

    condition {
      test     = "Null"
      variable = "aws:ResourceTag/${var.policy_tag}"
      values   = ["false"]
    }
  }

  # [[services]] named in the config without the policy tag: by ARN.
  dynamic "statement" {
    for_each = length(local.untagged_arns) > 0 ? [1] : []
    content {
      sid       = "ScaleListedServices"
      effect    = "Allow"
      actions   = ["ecs:UpdateService"]
      resources = local.untagged_arns
    }
  }

  # Membership: the tasks of the controller's own service, and nothing else's.
  statement {
    sid       = "OwnMembers"
    effect    = "Allow"
    actions   = ["ecs:ListTasks", "ecs:DescribeTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  # The size and platform of the revision a service runs, for its price. No resource-level
  # permissions.
  statement {
    sid       = "ReadTaskSizes"
    effect    = "Allow"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:GetMetricData"]
    resources = ["*"]
  }

  statement {
    sid       = "PublishTrimtabMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
  }
}

resource "aws_iam_role" "task" {
  name_prefix          = "${local.role_name_stem}-task-"
  description          = "trimtab controller ${var.cluster_name}/${var.service_name}: scales the services of ${join(", ", var.managed_clusters)} that carry ${var.policy_tag}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

resource "aws_iam_role_policy" "task" {
  name   = "trimtab-controller"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

################################################################################
# IAM: execution role (pull the image, write the logs, resolve the config from SSM)
################################################################################

resource "aws_iam_role" "execution" {
  name_prefix          = "${local.role_name_stem}-exec-"
  description          = "ECS task execution role of ${var.cluster_name}/${var.service_name}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution_ssm" {
  count = local.config_from_ssm ? 1 : 0

  statement {
    sid       = "ReadTrimtabConfig"
    effect    = "Allow"
    actions   = ["ssm:GetParameters"]
    resources = [var.trimtab_config_ssm_parameter_arn]
  }

  dynamic "statement" {
    for_each = var.trimtab_config_kms_key_arn == null ? [] : [var.trimtab_config_kms_key_arn]
    content {
      sid       = "DecryptTrimtabConfig"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "execution_ssm" {
  count = local.config_from_ssm ? 1 : 0

  name   = "trimtab-config"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_ssm[0].json
}
