################################################################################
# Service
################################################################################

variable "create_service" {
  description = "Whether the module creates the service, its task definition (the app and the sidecar) and both IAM roles. false: attach trimtab to an existing service: the module then creates only the log group and the budget topic, and its outputs sidecar_container_definition_json, task_policy_json and sidecar_execution_policy_json go into your own task definition and roles (the app_* inputs, desired_count, the network and load balancer inputs are not used)."
  type        = bool
  default     = true
  nullable    = false
}

variable "cluster_name" {
  description = "Name of the existing ECS cluster the service runs in (must equal [service] cluster in the trimtab config)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.cluster_name))
    error_message = "cluster_name must be 1-255 letters, digits, hyphens or underscores (an ECS cluster name, not its ARN)."
  }
}

variable "service_name" {
  description = "Name of the ECS service to create, or with create_service = false of the existing service the sidecar scales (must equal [service] name in the trimtab config)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.service_name))
    error_message = "service_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "desired_count" {
  description = "Number of tasks the service starts with. Afterwards the agent owns the count: Terraform ignores changes to it."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 0 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number >= 0."
  }
}

variable "subnet_ids" {
  description = "Subnets of the tasks' network interfaces (awsvpc). Private subnets with a NAT gateway or VPC endpoints for ECS, CloudWatch, Logs, ECR (and SNS, SSM when used). At least one with create_service = true."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "security_group_ids" {
  description = "Security groups of the tasks (at least one with create_service = true). The agent needs outbound HTTPS to the AWS APIs; its local API is on loopback and needs no inbound rule unless peer_api_port is set. With create_service = false, name the existing service's groups here only for peer_api_port's rule."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "peer_api_port" {
  description = "The port of the agents' API when they reach each other (the config's agent.listen = \"0.0.0.0:PORT\", with agent.api_token from SSM): followers then ask the leader's /healthz instead of reading ECS, and the leader reads every task's /peer signals. Adds an ingress rule on that port to each security group, from itself. null: the API stays on loopback and each follower reads the tasks from ECS every agent.leader_check."
  type        = number
  default     = null

  validation {
    condition     = var.peer_api_port == null || (try(var.peer_api_port >= 1 && var.peer_api_port <= 65535, false))
    error_message = "peer_api_port must be 1-65535."
  }
}

variable "assign_public_ip" {
  description = "Whether the tasks get a public IP (only needed in public subnets without NAT)."
  type        = bool
  default     = false
}

variable "launch_type" {
  description = "Launch type of the service: FARGATE (the task definition is Fargate-only). null: FARGATE unless capacity_provider_strategy is set. Setting both is an error."
  type        = string
  default     = null

  validation {
    condition     = var.launch_type == null || var.launch_type == "FARGATE"
    error_message = "launch_type must be FARGATE or null (the module's task definition runs on Fargate only; for Spot use capacity_provider_strategy)."
  }
}

variable "capacity_provider_strategy" {
  description = "Capacity provider strategy of the service, used instead of launch_type when not empty: [{ capacity_provider = FARGATE or FARGATE_SPOT, weight (0-1000, default 1), base (0-100000, default 0) }]. E.g. all on Spot: [{ capacity_provider = \"FARGATE_SPOT\" }], then [service] launch_type = \"fargate-spot\" in the trimtab config. The cluster must have the providers (aws_ecs_cluster_capacity_providers). Moving an existing service between launch_type and a strategy may replace it (read the plan)."
  type = list(object({
    capacity_provider = string
    weight            = optional(number, 1)
    base              = optional(number, 0)
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for s in var.capacity_provider_strategy : contains(["FARGATE", "FARGATE_SPOT"], s.capacity_provider)])
    error_message = "capacity_provider_strategy: capacity_provider must be FARGATE or FARGATE_SPOT (the module's task definition runs on Fargate only)."
  }

  validation {
    condition     = length(distinct([for s in var.capacity_provider_strategy : s.capacity_provider])) == length(var.capacity_provider_strategy)
    error_message = "capacity_provider_strategy: each capacity provider may appear once."
  }

  validation {
    condition = alltrue([for s in var.capacity_provider_strategy :
      try(floor(s.weight) == s.weight && floor(s.base) == s.base && s.weight >= 0 && s.weight <= 1000 && s.base >= 0 && s.base <= 100000, false)
    ])
    error_message = "capacity_provider_strategy: weight must be a whole number 0-1000 and base a whole number 0-100000."
  }

  validation {
    condition     = length([for s in var.capacity_provider_strategy : s if try(s.base > 0, false)]) <= 1
    error_message = "capacity_provider_strategy: only one capacity provider may have a base above 0."
  }

  validation {
    condition     = length(var.capacity_provider_strategy) == 0 || anytrue([for s in var.capacity_provider_strategy : try(s.weight > 0, false)])
    error_message = "capacity_provider_strategy: at least one capacity provider needs a weight above 0."
  }
}

variable "platform_version" {
  description = "Fargate platform version."
  type        = string
  default     = "LATEST"
}

variable "load_balancer" {
  description = "Optional target group the app container is registered in: { target_group_arn, container_port }. null: no load balancer."
  type = object({
    target_group_arn = string
    container_port   = number
  })
  default = null
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing load balancer health checks after a task starts (only used with load_balancer)."
  type        = number
  default     = 60

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "health_check_grace_period_seconds must be between 0 and 2147483647."
  }
}

variable "deployment_minimum_healthy_percent" {
  description = "Lower limit (percent of the desired count) of running tasks during a deployment."
  type        = number
  default     = 100
}

variable "deployment_maximum_percent" {
  description = "Upper limit (percent of the desired count) of running tasks during a deployment."
  type        = number
  default     = 200

  validation {
    condition     = var.deployment_maximum_percent >= 100
    error_message = "deployment_maximum_percent must be at least 100."
  }
}

variable "enable_execute_command" {
  description = "Whether ECS Exec is enabled on the service (the task role would then also need the ssmmessages permissions, which this module does not grant)."
  type        = bool
  default     = false
}

################################################################################
# Task definition
################################################################################

variable "family" {
  description = "Task definition family. null: the service name. With create_service = false and vertical_apply, the family of the existing service's task definition (the agent tags its resized copies there)."
  type        = string
  default     = null
}

variable "cpu" {
  description = "Task CPU units (Fargate: 256, 512, 1024, 2048, 4096, 8192, 16384). Must equal [service] cpu in the trimtab config."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be a Fargate task size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "memory" {
  description = "Task memory in MiB, valid for cpu on Fargate (e.g. 512 CPU: 1024-4096). Must equal [service] memory in the trimtab config."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory >= 512 && var.memory <= 122880
    error_message = "memory must be between 512 and 122880 MiB."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the task: X86_64 or ARM64 (images must be built for it)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

################################################################################
# App container
################################################################################

variable "app_container_name" {
  description = "Name of the app container (the load balancer targets it)."
  type        = string
  default     = "app"

  validation {
    condition     = var.app_container_name != "trimtab" && can(regex("^[A-Za-z0-9_-]{1,255}$", var.app_container_name))
    error_message = "app_container_name must be 1-255 letters, digits, hyphens or underscores, and not \"trimtab\" (the sidecar's name)."
  }
}

variable "app_image" {
  description = "Image of the app container. Required with create_service = true."
  type        = string
  default     = null
}

variable "app_port" {
  description = "Port the app container listens on (a port mapping in awsvpc mode). null: none."
  type        = number
  default     = null

  validation {
    condition     = var.app_port == null || (try(var.app_port >= 1 && var.app_port <= 65535 && var.app_port != 9464, false))
    error_message = "app_port must be 1-65535 and not 9464 (the trimtab agent's local API in the same network namespace)."
  }
}

variable "app_environment" {
  description = "Environment variables of the app container."
  type        = map(string)
  default     = {}
}

variable "app_secrets" {
  description = "Secrets of the app container: environment variable name => ARN of a Secrets Manager secret (the full ARN with its 6-character suffix, optionally followed by :json-key:version-stage:version-id) or of an SSM parameter. ECS resolves them at task start; the execution role may read exactly these secrets and parameters."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k in keys(var.app_secrets) : can(regex("^[A-Za-z_][A-Za-z0-9_]*$", k))])
    error_message = "app_secrets: each name must be an environment variable name (letters, digits, underscores; not starting with a digit)."
  }

  validation {
    condition = alltrue([for v in values(var.app_secrets) :
      can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}(:[^:]*:[^:]*:[^:]*)?$", v)) ||
      can(regex("^arn:[a-z-]+:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$", v))
    ])
    error_message = "app_secrets: each value must be the ARN of a Secrets Manager secret (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, optionally with :json-key:version-stage:version-id) or of an SSM parameter (arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME)."
  }
}

variable "app_secrets_kms_key_arns" {
  description = "ARNs of the customer-managed KMS keys app_secrets are encrypted with (the execution role gets kms:Decrypt on them). Not needed for the AWS-managed keys."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for k in var.app_secrets_kms_key_arns : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "app_secrets_kms_key_arns: each must be a KMS key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "app_health_check" {
  description = "Container health check of the app: { command = [\"CMD-SHELL\", \"curl -f http://localhost:8080/health || exit 1\"], interval = 30, timeout = 5, retries = 3, start_period = 0 } (seconds; all but command optional). null: none."
  type = object({
    command      = list(string)
    interval     = optional(number, 30)
    timeout      = optional(number, 5)
    retries      = optional(number, 3)
    start_period = optional(number, 0)
  })
  default = null

  validation {
    condition     = var.app_health_check == null || try(length(var.app_health_check.command) >= 2 && contains(["CMD", "CMD-SHELL"], var.app_health_check.command[0]), false)
    error_message = "app_health_check.command must start with \"CMD\" or \"CMD-SHELL\" followed by the command, e.g. [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]."
  }

  validation {
    condition = var.app_health_check == null || try(
      var.app_health_check.interval >= 5 && var.app_health_check.interval <= 300 &&
      var.app_health_check.timeout >= 2 && var.app_health_check.timeout <= 120 &&
      var.app_health_check.retries >= 1 && var.app_health_check.retries <= 10 &&
      var.app_health_check.start_period >= 0 && var.app_health_check.start_period <= 300,
    false)
    error_message = "app_health_check: interval must be 5-300 s, timeout 2-120 s, retries 1-10 and start_period 0-300 s (the ECS limits)."
  }
}

variable "app_command" {
  description = "Command of the app container. null: the image's."
  type        = list(string)
  default     = null
}

variable "app_cpu" {
  description = "CPU units reserved for the app container. null: no container-level reservation."
  type        = number
  default     = null
}

variable "app_memory" {
  description = "Hard memory limit (MiB) of the app container. null: no container limit (the task's memory bounds it)."
  type        = number
  default     = null
}

variable "app_readonly_root_filesystem" {
  description = "Whether the app container's root filesystem is read-only. Set false only for apps that must write to it."
  type        = bool
  default     = true
}

################################################################################
# trimtab sidecar
################################################################################

variable "trimtab_image" {
  description = "Image of the trimtab agent."
  type        = string
  default     = "ghcr.io/trimtab/trimtab:0.1.0"
}

variable "trimtab_cpu" {
  description = "CPU units reserved for the trimtab sidecar (it idles at well under 1% of a core)."
  type        = number
  default     = 64

  validation {
    condition     = var.trimtab_cpu >= 0
    error_message = "trimtab_cpu must be >= 0."
  }
}

variable "trimtab_memory" {
  description = "Hard memory limit (MiB) of the trimtab sidecar (it idles at about 10 MiB RSS)."
  type        = number
  default     = 128

  validation {
    condition     = var.trimtab_memory >= 32
    error_message = "trimtab_memory must be at least 32 MiB."
  }
}

variable "trimtab_config" {
  description = "The trimtab config (TOML text), passed to the sidecar as the TRIMTAB_CONFIG environment variable. Visible to anyone who can describe the task definition: keep secrets (agent.api_token) in SSM and use trimtab_config_ssm_parameter_arn instead. Exactly one of the two is required."
  type        = string
  default     = null

  validation {
    condition     = var.trimtab_config == null || try(length(trimspace(var.trimtab_config)) > 0, false)
    error_message = "trimtab_config must not be empty; leave it null to read the config from SSM."
  }
}

variable "trimtab_config_ssm_parameter_arn" {
  description = "ARN of an SSM parameter holding the trimtab config (TOML). ECS resolves it into TRIMTAB_CONFIG at task start with the execution role, which is granted ssm:GetParameters on it."
  type        = string
  default     = null

  validation {
    condition     = var.trimtab_config_ssm_parameter_arn == null || can(regex("^arn:[a-z-]+:ssm:[a-z0-9-]+:[0-9]{12}:parameter/", var.trimtab_config_ssm_parameter_arn))
    error_message = "trimtab_config_ssm_parameter_arn must be an SSM parameter ARN (arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME)."
  }
}

variable "trimtab_config_kms_key_arn" {
  description = "ARN of the customer-managed KMS key the SSM SecureString is encrypted with (the execution role gets kms:Decrypt on it). null: the parameter is a String or uses the AWS-managed aws/ssm key."
  type        = string
  default     = null
}

variable "task_role_arn" {
  description = "Only with create_service = false and vertical_apply: the existing task definition's task role, which the agent passes to ECS (iam:PassRole) when it registers a resized copy."
  type        = string
  default     = null

  validation {
    condition     = var.task_role_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", var.task_role_arn))
    error_message = "task_role_arn must be an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)."
  }
}

variable "execution_role_arn" {
  description = "Only with create_service = false and vertical_apply: the existing task definition's execution role (passed like task_role_arn)."
  type        = string
  default     = null

  validation {
    condition     = var.execution_role_arn == null || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", var.execution_role_arn))
    error_message = "execution_role_arn must be an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME)."
  }
}

variable "vertical_apply" {
  description = "Whether the agent may resize the task ([vertical] mode = \"apply\"): grants ecs:DescribeTaskDefinition, ecs:RegisterTaskDefinition, ecs:TagResource (on registration only) and iam:PassRole on the task's two roles, and makes Terraform ignore the service's task_definition. Changing it replaces the service."
  type        = bool
  default     = false
}

################################################################################
# Logs
################################################################################

variable "log_group_name" {
  description = "Name of the CloudWatch log group both containers log to. null: /ecs/CLUSTER/SERVICE."
  type        = string
  default     = null
}

variable "log_retention_in_days" {
  description = "Days the log group keeps events (one of the values CloudWatch Logs accepts)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "log_kms_key_id" {
  description = "ARN of a KMS key encrypting the log group (its key policy must allow logs.REGION.amazonaws.com). null: CloudWatch Logs' service-managed encryption."
  type        = string
  default     = null
}

################################################################################
# Budget alerts
################################################################################

variable "create_budget_topic" {
  description = "Whether to create the SNS topic for budget alerts (ignored when budget_topic_arn is set)."
  type        = bool
  default     = true
}

variable "budget_topic_arn" {
  description = "ARN of an existing SNS topic for budget alerts instead of creating one. The task role gets sns:Publish on it."
  type        = string
  default     = null

  validation {
    condition     = var.budget_topic_arn == null || can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", var.budget_topic_arn))
    error_message = "budget_topic_arn must be an SNS topic ARN."
  }
}

variable "budget_topic_kms_key_id" {
  description = "KMS key (ID, ARN or alias) encrypting the created topic. The AWS-managed alias/aws/sns works for the agent's Publish; CloudWatch alarm actions need a customer-managed key that allows cloudwatch.amazonaws.com."
  type        = string
  default     = "alias/aws/sns"
}

variable "email_subscriptions" {
  description = "E-mail addresses subscribed to the created budget topic (each must confirm)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.email_subscriptions : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "email_subscriptions must be e-mail addresses."
  }
}

variable "https_subscriptions" {
  description = "HTTPS endpoints subscribed to the created budget topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.https_subscriptions : startswith(u, "https://")])
    error_message = "https_subscriptions must be https:// URLs."
  }
}

################################################################################
# Common
################################################################################

variable "permissions_boundary" {
  description = "ARN of a permissions boundary for both IAM roles. null: none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
