// Package workerid names a worker after the thing it runs in, so that a new
// worker never inherits an old one's registry item (and with it an
// administrator's enabled=false, which would keep it from taking work while
// the pool's scaling counts it).
//
// A worker's id comes, in this order, from:
//
//   - SCALEOUT_WORKER_ID, when set;
//   - on ECS (Fargate or EC2 launch type), the task's id: the last part of
//     the TaskARN in the task metadata endpoint v4
//     (ECS_CONTAINER_METADATA_URI_V4/task). Task ids are never reused; a
//     Fargate task's host name (ip-10-0-1-23) and process id (1) are,
//     whenever a new task gets a released address;
//   - on an EC2 pool (SCALEOUT_WORKER_ID_FROM=ec2, which the stack sets), the
//     instance id from IMDSv2. A worker restarted by systemd on the same
//     instance keeps its id and recovers the runs its previous process held;
//   - elsewhere, host name and process id, as before (a laptop, `scaleout
//     dev`). IMDS is never probed unless asked: a development machine on EC2
//     runs several workers, which would all get the instance's id.
//
// On ECS the task metadata also gives the task's CPU limit (Limits.CPU, in
// vCPUs), which the capacity check uses when the container's cgroup shows
// no quota of its own.
package workerid
