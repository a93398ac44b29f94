output "service_name" {
  description = "Name of the controller's ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the controller's ECS service."
  value       = aws_ecs_service.this.id
}

output "task_definition_arn" {
  description = "ARN (with revision) of the controller's task definition."
  value       = aws_ecs_task_definition.this.arn
}

output "task_role_arn" {
  description = "ARN of the controller's task role."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "ARN of the task execution role."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "Name of the controller's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}
