################################################################################
# The controller's own service
################################################################################

variable "cluster_name" {
  description = "Name of the existing ECS cluster the controller's service runs in (must equal [controller] cluster in the trimtab config)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.cluster_name))
    error_message = "cluster_name must be 1-255 letters, digits, hyphens or underscores (an ECS cluster name, not its ARN)."
  }
}

variable "service_name" {
  description = "Name of the controller's ECS service (must equal [controller] service in the trimtab config)."
  type        = string
  default     = "trimtab-controller"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.service_name))
    error_message = "service_name must be 1-255 letters, digits, hyphens or underscores."
  }
}

variable "desired_count" {
  description = "Number of controller tasks. They share the managed services among their healthy members; 2 or 3 keep scaling going through a task's loss or a deployment. Terraform owns this count."
  type        = number
  default     = 2

  validation {
    condition     = var.desired_count >= 1 && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number >= 1."
  }
}

variable "subnet_ids" {
  description = "Subnets of the tasks' network interfaces (awsvpc). Private subnets with a NAT gateway or VPC endpoints for ECS, CloudWatch, Logs and ECR (and SSM when used)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "At least one subnet is required."
  }
}

variable "security_group_ids" {
  description = "Security groups of the tasks. The controller needs outbound HTTPS to the AWS APIs and no inbound rule (its API is on loopback unless agent.listen says otherwise)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "At least one security group is required."
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
  description = "Capacity provider strategy of the service, used instead of launch_type when not empty: [{ capacity_provider = FARGATE or FARGATE_SPOT, weight (0-1000, default 1), base (0-100000, default 0) }]. E.g. all on Spot: [{ capacity_provider = \"FARGATE_SPOT\" }]. The cluster must have the providers (aws_ecs_cluster_capacity_providers). Moving an existing service between launch_type and a strategy may replace it (read the plan)."
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

variable "cpu" {
  description = "Task CPU units (Fargate sizes). A controller of a thousand services uses a fraction of a core."
  type        = number
  default     = 256

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "cpu must be a Fargate task size: 256, 512, 1024, 2048 or 4096."
  }
}

variable "memory" {
  description = "Task memory in MiB, valid for cpu on Fargate (256 CPU: 512-2048)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory >= 512 && var.memory <= 30720
    error_message = "memory must be between 512 and 30720 MiB."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the task: X86_64 or ARM64 (the image must be built for it)."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

################################################################################
# What it may scale
################################################################################

variable "managed_clusters" {
  description = "Names of the clusters whose services the controller may list, read and scale ([discovery] clusters and the clusters of [[services]])."
  type        = list(string)

  validation {
    condition     = length(var.managed_clusters) > 0 && alltrue([for c in var.managed_clusters : can(regex("^[A-Za-z0-9_-]{1,255}$", c))])
    error_message = "managed_clusters must be one or more cluster names (not ARNs)."
  }
}

variable "policy_tag" {
  description = "The tag key that marks a service as the controller's ([discovery] tag). UpdateService is allowed only on services that carry it."
  type        = string
  default     = "trimtab:policy"
}

variable "untagged_services" {
  description = "Services named in [[services]] that do not carry policy_tag, as CLUSTER/SERVICE: they get UpdateService by ARN instead."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.untagged_services : can(regex("^[A-Za-z0-9_-]{1,255}/[A-Za-z0-9_-]{1,255}$", s))])
    error_message = "untagged_services must be CLUSTER/SERVICE names."
  }
}

variable "metrics_namespace" {
  description = "The only CloudWatch namespace the controller may publish to."
  type        = string
  default     = "Trimtab"
}

################################################################################
# The controller container
################################################################################

variable "trimtab_image" {
  description = "Image of trimtab."
  type        = string
  default     = "ghcr.io/trimtab/trimtab:0.1.0"
}

variable "trimtab_config" {
  description = "The controller's trimtab config (TOML text: [controller], [policies.NAME], [[services]], [discovery]), passed as the TRIMTAB_CONFIG environment variable. Visible to anyone who can describe the task definition: keep secrets in SSM and use trimtab_config_ssm_parameter_arn instead. Exactly one of the two is required."
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
  description = "ARN of the customer-managed KMS key the SSM SecureString is encrypted with (the execution role gets kms:Decrypt on it). null: none needed."
  type        = string
  default     = null
}

################################################################################
# Logs and common
################################################################################

variable "log_group_name" {
  description = "Name of the CloudWatch log group. null: /ecs/CLUSTER/SERVICE."
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
  description = "ARN of a KMS key encrypting the log group. null: CloudWatch Logs' service-managed encryption."
  type        = string
  default     = null
}

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
