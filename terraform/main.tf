################################################################################
# trimtab: the trimtab agent as a sidecar of an ECS service (Fargate, awsvpc), its least-privilege
# task policy, a log group and an SNS topic for budget alerts. With create_service (the default)
# the module also creates the service: a task definition with the app and the sidecar, the
# service, a task role holding the policy and an execution role. With create_service = false it
# creates none of those and hands out the sidecar's container definition and the policy as JSON,
# for a team that adds the sidecar to its own task definition and the policy to its own task role.
################################################################################

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  # The provider's region is aws_region's `name` on AWS provider v5 and its `region` on v6, which
  # deprecates `name` (and, from 6.47, `id`); v5 has no `region`. Naming either attribute in a
  # reference would fail on one major or warn on the other, so the module reads the whole object
  # and tries `region` first: a missing attribute is an error try() catches, at evaluation time.
  region_data = data.aws_region.current
  region      = try(local.region_data.region, local.region_data.name)

  family          = coalesce(var.family, var.service_name)
  cluster_arn     = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:cluster/${var.cluster_name}"
  service_arn     = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:service/${var.cluster_name}/${var.service_name}"
  task_def_arns   = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${local.family}:*"
  task_arns       = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${var.cluster_name}/*"
  alarm_arns      = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:trimtab-${var.cluster_name}-${var.service_name}-*"
  log_group_name  = coalesce(var.log_group_name, "/ecs/${var.cluster_name}/${var.service_name}")
  role_name_stem  = substr("${var.cluster_name}-${var.service_name}", 0, 32) # name_prefix: at most 38 characters
  config_from_ssm = var.trimtab_config_ssm_parameter_arn != null

  # Which service the module creates, if any (create_service = false: none), and how it runs.
  create_plain       = var.create_service && !var.vertical_apply
  create_vertical    = var.create_service && var.vertical_apply
  launch_type        = length(var.capacity_provider_strategy) > 0 ? null : coalesce(var.launch_type, "FARGATE")
  task_role_arn      = var.create_service ? aws_iam_role.task[0].arn : var.task_role_arn
  execution_role_arn = var.create_service ? aws_iam_role.execution[0].arn : var.execution_role_arn

  # The app's secrets, by the resource the execution role reads: a Secrets Manager secret is
  # the first seven fields of its valueFrom (which may go on with :json-key:stage:version), an
  # SSM parameter the whole ARN.
  app_secret_arns     = var.create_service ? values(var.app_secrets) : []
  app_secretsmanager  = sort(distinct([for a in local.app_secret_arns : join(":", slice(split(":", a), 0, 7)) if split(":", a)[2] == "secretsmanager"]))
  app_ssm_parameters  = sort(distinct([for a in local.app_secret_arns : a if split(":", a)[2] == "ssm"]))
  app_secret_kms_keys = var.create_service ? sort(distinct(var.app_secrets_kms_key_arns)) : []
  execution_policy    = local.config_from_ssm || length(local.app_secret_arns) > 0

  create_budget_topic = var.create_budget_topic && var.budget_topic_arn == null
  has_budget_topic    = local.create_budget_topic || var.budget_topic_arn != null
  budget_topic_arn    = local.create_budget_topic ? aws_sns_topic.budget[0].arn : var.budget_topic_arn

  ################################################################################
  # Containers
  ################################################################################

  app_container = merge(
    {
      name                   = var.app_container_name
      image                  = var.app_image
      essential              = true
      readonlyRootFilesystem = var.app_readonly_root_filesystem
      environment            = [for k in sort(keys(var.app_environment)) : { name = k, value = var.app_environment[k] }]
      portMappings = var.app_port == null ? [] : [{
        containerPort = var.app_port
        hostPort      = var.app_port
        protocol      = "tcp"
      }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = local.log_group_name
          awslogs-region        = local.region
          awslogs-stream-prefix = var.app_container_name
        }
      }
      # Deliberately no dependsOn on the sidecar: the app starts and keeps running whether or not
      # the agent is healthy.
    },
    var.app_cpu == null ? {} : { cpu = var.app_cpu },
    var.app_memory == null ? {} : { memory = var.app_memory },
    var.app_command == null ? {} : { command = var.app_command },
    # Resolved by ECS at task start with the execution role, which may read exactly these ARNs.
    length(var.app_secrets) == 0 ? {} : {
      secrets = [for k in sort(keys(var.app_secrets)) : { name = k, valueFrom = var.app_secrets[k] }]
    },
    var.app_health_check == null ? {} : {
      healthCheck = {
        command     = var.app_health_check.command
        interval    = var.app_health_check.interval
        timeout     = var.app_health_check.timeout
        retries     = var.app_health_check.retries
        startPeriod = var.app_health_check.start_period
      }
    },
  )

  trimtab_environment = concat(
    [
      { name = "AWS_REGION", value = local.region },
      { name = "TRIMTAB_LOG_FORMAT", value = "json" },
    ],
    # The agent reads its TOML from TRIMTAB_CONFIG when `run` is given no --config.
    local.config_from_ssm ? [] : [{ name = "TRIMTAB_CONFIG", value = var.trimtab_config }],
  )

  trimtab_container = {
    name      = "trimtab"
    image     = var.trimtab_image
    essential = false # a failing scaler must never take the app's task down
    command   = ["run"]
    cpu       = var.trimtab_cpu
    memory    = var.trimtab_memory
    # It keeps its state in memory and CloudWatch and writes no files.
    readonlyRootFilesystem = true
    environment            = local.trimtab_environment
    secrets = local.config_from_ssm ? [{
      name      = "TRIMTAB_CONFIG"
      valueFrom = var.trimtab_config_ssm_parameter_arn
    }] : []
    # On SIGTERM the agent waits for a desired-count change already sent (at most 8 s) and
    # exits within 10 s (SHUTDOWN_BOUND in src/agent/run.rs): 15 s before SIGKILL leaves room.
    # tests/agent_bounds.rs keeps the two in step.
    stopTimeout = 15
    # No portMappings: the local API (127.0.0.1:9464) is for the task's own containers, which
    # share the task's network namespace in awsvpc mode. With peer_api_port the config listens
    # on the task's address too, which awsvpc reaches without a mapping; the security group
    # rule trimtab_peers lets the service's own tasks in.
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
# Task definition
################################################################################

resource "aws_ecs_task_definition" "this" {
  count = var.create_service ? 1 : 0

  family                   = local.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = aws_iam_role.task[0].arn
  execution_role_arn       = aws_iam_role.execution[0].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([local.app_container, local.trimtab_container])

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.app_image != null
      error_message = "app_image is required with create_service = true (the module creates the app's container)."
    }
    precondition {
      condition     = length(setintersection(keys(var.app_environment), keys(var.app_secrets))) == 0
      error_message = "app_environment and app_secrets name the same variable(s): ${join(", ", sort(setintersection(keys(var.app_environment), keys(var.app_secrets))))}."
    }
  }
}

################################################################################
# Service
################################################################################

# The sidecars reach each other on their API (peer_api_port): followers ask the leader's
# /healthz instead of reading ECS every tick, and the leader reads every task's /peer signals.
resource "aws_vpc_security_group_ingress_rule" "trimtab_peers" {
  for_each = var.peer_api_port == null ? toset([]) : toset(var.security_group_ids)

  security_group_id            = each.value
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = var.peer_api_port
  to_port                      = var.peer_api_port
  description                  = "trimtab sidecars of ${var.service_name}: leader liveness and per-task signals"
  tags                         = var.tags
}

# Two variants of one service, at most one of which exists (none with create_service = false):
# desired_count always belongs to the agent; with vertical_apply the task definition does too
# (the agent registers resized revisions and points the service at them), so Terraform must not
# roll it back. ignore_changes cannot be made conditional, hence the count.
resource "aws_ecs_service" "this" {
  count = local.create_plain ? 1 : 0

  name                               = var.service_name
  cluster                            = local.cluster_arn
  task_definition                    = aws_ecs_task_definition.this[0].arn
  desired_count                      = var.desired_count
  launch_type                        = local.launch_type
  platform_version                   = var.platform_version
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  enable_execute_command             = var.enable_execute_command
  deployment_minimum_healthy_percent = var.deployment_minimum_healthy_percent
  deployment_maximum_percent         = var.deployment_maximum_percent
  health_check_grace_period_seconds  = var.load_balancer == null ? null : var.health_check_grace_period_seconds

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

  dynamic "load_balancer" {
    for_each = var.load_balancer == null ? [] : [var.load_balancer]
    content {
      target_group_arn = load_balancer.value.target_group_arn
      container_name   = var.app_container_name
      container_port   = load_balancer.value.container_port
    }
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [desired_count]

    precondition {
      condition     = length(var.subnet_ids) > 0 && length(var.security_group_ids) > 0
      error_message = "subnet_ids and security_group_ids are required with create_service = true."
    }
  }
}

resource "aws_ecs_service" "vertical" {
  count = local.create_vertical ? 1 : 0

  name                               = var.service_name
  cluster                            = local.cluster_arn
  task_definition                    = aws_ecs_task_definition.this[0].arn
  desired_count                      = var.desired_count
  launch_type                        = local.launch_type
  platform_version                   = var.platform_version
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true
  enable_execute_command             = var.enable_execute_command
  deployment_minimum_healthy_percent = var.deployment_minimum_healthy_percent
  deployment_maximum_percent         = var.deployment_maximum_percent
  health_check_grace_period_seconds  = var.load_balancer == null ? null : var.health_check_grace_period_seconds

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

  dynamic "load_balancer" {
    for_each = var.load_balancer == null ? [] : [var.load_balancer]
    content {
      target_group_arn = load_balancer.value.target_group_arn
      container_name   = var.app_container_name
      container_port   = load_balancer.value.container_port
    }
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [desired_count, task_definition]

    precondition {
      condition     = length(var.subnet_ids) > 0 && length(var.security_group_ids) > 0
      error_message = "subnet_ids and security_group_ids are required with create_service = true."
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
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

################################################################################
# IAM: task role (what the trimtab agent may do). tests/iam.rs checks that the actions below are
# exactly trimtab::aws::AGENT_OPERATIONS plus the permissions AWS checks on the agent's behalf.
################################################################################

data "aws_iam_policy_document" "task" {

  # Checks across inputs, in either mode (this document always exists). A variable's own
  # validation cannot name another variable before Terraform 1.9.
  lifecycle {
    precondition {
      condition     = (var.trimtab_config == null) != (var.trimtab_config_ssm_parameter_arn == null)
      error_message = "Set exactly one of trimtab_config (the TOML text) and trimtab_config_ssm_parameter_arn."
    }
    precondition {
      condition     = var.launch_type == null || length(var.capacity_provider_strategy) == 0
      error_message = "Set launch_type or capacity_provider_strategy, not both: a service with a capacity provider strategy has no launch type."
    }
    precondition {
      condition     = !var.create_service || (var.task_role_arn == null && var.execution_role_arn == null)
      error_message = "task_role_arn and execution_role_arn name an existing service's roles: set them only with create_service = false (the module creates both roles otherwise)."
    }
    precondition {
      condition     = var.create_service || !var.vertical_apply || var.task_role_arn != null
      error_message = "vertical_apply with create_service = false needs task_role_arn (and execution_role_arn, if the task definition has one): the agent passes them to ECS when it registers a resized copy."
    }
  }

  # Read and scale this one service.
  statement {
    sid       = "ThisService"
    effect    = "Allow"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = [local.service_arn]
  }

  # Leader election among the service's sidecars. ListTasks and DescribeTasks are scoped by
  # the cluster condition, AWS's documented way for these two actions.
  statement {
    sid       = "TasksOfThisCluster"
    effect    = "Allow"
    actions   = ["ecs:ListTasks", "ecs:DescribeTasks"]
    resources = ["*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  # Task scale-in protection ([protection]): each task's ECS agent sets and reads its task's
  # protection with this role's credentials (PUT/GET $ECS_AGENT_URI/task-protection/v1/state),
  # and the leader reads which tasks are protected before a scale-in. Tasks of this cluster only.
  statement {
    sid       = "TaskScaleInProtection"
    effect    = "Allow"
    actions   = ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"]
    resources = [local.task_arns]
  }

  # Metrics it reads (AWS/ECS, any configured CloudWatch metric, its own Trimtab history).
  statement {
    sid       = "ReadMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:GetMetricData"]
    resources = ["*"]
  }

  # Metrics it publishes: only into its own namespace.
  statement {
    sid       = "PublishTrimtabMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Trimtab"]
    }
  }

  # Its own alarms (`trimtab alarms`, [alarms] enabled = true). No DeleteAlarms: it never deletes.
  statement {
    sid       = "OwnAlarms"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"]
    resources = [local.alarm_arns]
  }

  # Budget alerts to the SNS topic.
  dynamic "statement" {
    for_each = local.has_budget_topic ? [1] : []
    content {
      sid       = "PublishBudgetAlerts"
      effect    = "Allow"
      actions   = ["sns:Publish"]
      resources = [local.budget_topic_arn]
    }
  }

  # Right-sizing ([vertical] mode = "apply"): read the current task definition and register a
  # resized copy. Neither action supports resource-level permissions.
  dynamic "statement" {
    for_each = var.vertical_apply ? [1] : []
    content {
      sid       = "RightSizeTaskDefinition"
      effect    = "Allow"
      actions   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
      resources = ["*"]
    }
  }

  # The copy is registered with the trimtab:resized-from tag: ECS authorizes ecs:TagResource
  # for tags given on RegisterTaskDefinition. Only on creation, only this family.
  dynamic "statement" {
    for_each = var.vertical_apply ? [1] : []
    content {
      sid       = "TagOnRegister"
      effect    = "Allow"
      actions   = ["ecs:TagResource"]
      resources = [local.task_def_arns]

      condition {
        test     = "StringEquals"
        variable = "ecs:CreateAction"
        values   = ["RegisterTaskDefinition"]
      }
    }
  }

  # The copy names the task's two roles, so registering it passes them to ECS tasks.
  dynamic "statement" {
    for_each = var.vertical_apply ? [1] : []
    content {
      sid       = "PassTheTaskRoles"
      effect    = "Allow"
      actions   = ["iam:PassRole"]
      resources = compact([local.task_role_arn, local.execution_role_arn])

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "task" {
  count = var.create_service ? 1 : 0

  name_prefix          = "${local.role_name_stem}-task-"
  description          = "trimtab agent in ${var.cluster_name}/${var.service_name}: scales this service"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

resource "aws_iam_role_policy" "task" {
  count = var.create_service ? 1 : 0

  name   = "trimtab"
  role   = aws_iam_role.task[0].id
  policy = data.aws_iam_policy_document.task.json
}

################################################################################
# IAM: execution role (what ECS needs to start the task: pull the images, write the logs, and
# resolve the secrets: the trimtab config when it is kept in SSM, the app's app_secrets)
################################################################################

resource "aws_iam_role" "execution" {
  count = var.create_service ? 1 : 0

  name_prefix          = "${local.role_name_stem}-exec-"
  description          = "ECS task execution role of ${var.cluster_name}/${var.service_name}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary
  tags                 = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  count = var.create_service ? 1 : 0

  role       = aws_iam_role.execution[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# What the sidecar alone needs from the execution role: its config, when it is kept in SSM. With
# create_service = false it is the sidecar_execution_policy_json output, for the team's own role.
data "aws_iam_policy_document" "execution_sidecar" {
  count = local.config_from_ssm ? 1 : 0

  statement {
    sid       = "ReadTrimtabConfig"
    effect    = "Allow"
    actions   = ["ssm:GetParameters"]
    resources = [var.trimtab_config_ssm_parameter_arn]
  }

  # A SecureString encrypted with a customer-managed key also needs kms:Decrypt on that key.
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

# The module's execution role: the sidecar's part and the app's secrets, each by its exact ARN.
data "aws_iam_policy_document" "execution" {
  count = var.create_service && local.execution_policy ? 1 : 0

  source_policy_documents = data.aws_iam_policy_document.execution_sidecar[*].json

  dynamic "statement" {
    for_each = length(local.app_secretsmanager) > 0 ? [local.app_secretsmanager] : []
    content {
      sid       = "ReadAppSecrets"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = length(local.app_ssm_parameters) > 0 ? [local.app_ssm_parameters] : []
    content {
      sid       = "ReadAppParameters"
      effect    = "Allow"
      actions   = ["ssm:GetParameters"]
      resources = statement.value
    }
  }

  # Secrets encrypted with customer-managed keys (the AWS-managed ones need no grant).
  dynamic "statement" {
    for_each = length(local.app_secret_kms_keys) > 0 ? [local.app_secret_kms_keys] : []
    content {
      sid       = "DecryptAppSecrets"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = statement.value
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  count = var.create_service && local.execution_policy ? 1 : 0

  name   = "trimtab-secrets"
  role   = aws_iam_role.execution[0].id
  policy = data.aws_iam_policy_document.execution[0].json
}

# Before the app's secrets this policy held the trimtab config alone, under another name.
moved {
  from = aws_iam_role_policy.execution_ssm
  to   = aws_iam_role_policy.execution_secrets
}

################################################################################
# Budget alerts: an SNS topic the agent publishes to ([[notify]] type = "sns")
################################################################################

resource "aws_sns_topic" "budget" {
  count = local.create_budget_topic ? 1 : 0

  name              = "trimtab-${var.cluster_name}-${var.service_name}-budget"
  kms_master_key_id = var.budget_topic_kms_key_id
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each = local.create_budget_topic ? toset(var.email_subscriptions) : toset([])

  topic_arn = aws_sns_topic.budget[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_subscription" "https" {
  for_each = local.create_budget_topic ? toset(var.https_subscriptions) : toset([])

  topic_arn = aws_sns_topic.budget[0].arn
  protocol  = "https"
  endpoint  = each.value
}
