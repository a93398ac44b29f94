locals {
  service = var.vertical_apply ? aws_ecs_service.vertical[0] : aws_ecs_service.this[0]
}

output "service_name" {
  description = "Name of the ECS service."
  value       = local.service.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = local.service.id
}

output "task_definition_arn" {
  description = "ARN (with revision) of the task definition Terraform registered. With vertical_apply the service may run a newer, resized revision of the same family."
  value       = aws_ecs_task_definition.this.arn
}

output "task_definition_family" {
  description = "Family of the task definition."
  value       = aws_ecs_task_definition.this.family
}

output "task_role_arn" {
  description = "ARN of the task role (the trimtab agent's permissions)."
  value       = aws_iam_role.task.arn
}

output "task_role_name" {
  description = "Name of the task role, to attach the app's own policies to."
  value       = aws_iam_role.task.name
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "Name of the CloudWatch log group of both containers."
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
