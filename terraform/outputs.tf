################################################################################
# The sidecar and its permissions, for a task definition and roles the module does not create
# (create_service = false); the same values the module's own task definition and roles use.
################################################################################

output "sidecar_container_definition_json" {
  description = "The trimtab sidecar's container definition (one object, JSON): image, command, environment with the config (or its SSM secret), health check, stop timeout, log configuration. Add it to your task definition's containerDefinitions, e.g. jsonencode([local.app, jsondecode(module.trimtab.sidecar_container_definition_json)])."
  value       = jsonencode(local.trimtab_container)
}

output "task_policy_json" {
  description = "The IAM policy (JSON) the trimtab agent needs, the task role's policy: attach it to your task role when create_service = false (aws_iam_role_policy)."
  value       = data.aws_iam_policy_document.task.json
}

output "sidecar_execution_policy_json" {
  description = "The IAM policy (JSON) the execution role needs for the sidecar: ssm:GetParameters on trimtab_config_ssm_parameter_arn (and kms:Decrypt on trimtab_config_kms_key_arn). null when the config is given as text and the execution role needs nothing beyond AmazonECSTaskExecutionRolePolicy."
  value       = one(data.aws_iam_policy_document.execution_sidecar[*].json)
}

################################################################################
# What the module created (null with create_service = false)
################################################################################

output "service_name" {
  description = "Name of the ECS service; null with create_service = false."
  value       = one(concat(aws_ecs_service.this[*].name, aws_ecs_service.vertical[*].name))
}

output "service_arn" {
  description = "ARN of the ECS service; null with create_service = false."
  value       = one(concat(aws_ecs_service.this[*].id, aws_ecs_service.vertical[*].id))
}

output "task_definition_arn" {
  description = "ARN (with revision) of the task definition Terraform registered; null with create_service = false. With vertical_apply the service may run a newer, resized revision of the same family."
  value       = one(aws_ecs_task_definition.this[*].arn)
}

output "task_definition_family" {
  description = "Family of the task definition; null with create_service = false."
  value       = one(aws_ecs_task_definition.this[*].family)
}

output "task_role_arn" {
  description = "ARN of the task role (the trimtab agent's permissions); null with create_service = false."
  value       = one(aws_iam_role.task[*].arn)
}

output "task_role_name" {
  description = "Name of the task role, to attach the app's own policies to; null with create_service = false."
  value       = one(aws_iam_role.task[*].name)
}

output "execution_role_arn" {
  description = "ARN of the task execution role; null with create_service = false."
  value       = one(aws_iam_role.execution[*].arn)
}

################################################################################
# In either mode
################################################################################

output "log_group_name" {
  description = "Name of the CloudWatch log group the sidecar (and, with create_service, the app) logs to."
  value       = aws_cloudwatch_log_group.this.name
}

output "budget_topic_arn" {
  description = "ARN of the SNS topic for budget alerts (created or given); null when there is none. Reference it in the trimtab config: [[notify]] type = \"sns\", topic_arn = ..."
  value       = local.budget_topic_arn
}

output "alarm_name_prefix" {
  description = "Prefix of the CloudWatch alarms the agent may create (trimtab-CLUSTER-SERVICE-)."
  value       = "trimtab-${var.cluster_name}-${var.service_name}-"
}
