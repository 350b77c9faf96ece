// Package scalein keeps a worker's Fargate task or EC2 instance out of its
// pool's scale-in while the worker runs executions.
//
// A pool scales on its backlog per worker (target tracking): when the
// backlog falls, the scaling policy removes workers, and without
// protection it may pick one that runs a long execution, which is then
// released and starts again from scratch elsewhere. The worker
// (package worker, Config.Protector) turns protection on when it goes from
// idle to busy, renews it before it expires while runs go on, and turns it
// off when it is idle again, so that scale-in takes idle workers only.
//
//   - ECSAgent asks the ECS agent's task scale-in protection endpoint
//     ($ECS_AGENT_URI/task-protection/v1/state), which calls ECS
//     UpdateTaskProtection with the task role (ecs:UpdateTaskProtection).
//     The protection expires by itself, so a worker that hangs does not
//     pin its task forever.
//   - Instance sets the scale-in protection of an EC2 instance in its Auto
//     Scaling group (autoscaling:SetInstanceProtection). It does not
//     expire: the worker clears it when idle and when it stops.
package scalein
