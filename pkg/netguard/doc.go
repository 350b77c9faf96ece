// Package netguard decides which addresses the connections a package
// makes may reach, so that a package never gets the worker's AWS
// credentials over the network: the instance metadata service
// (169.254.169.254, fd00:ec2::254) and the ECS credentials endpoint
// (169.254.170.2) answer every process that can connect to them with the
// role's keys.
//
// A Policy checks the address being dialed, after name resolution, on
// every connection: the Control hook of a net.Dialer (Policy.Dialer) runs
// for each connection a transport opens, for the first request and every
// redirect alike, so neither a name that resolves to a metadata address
// (DNS rebinding included) nor a redirect to one gets around it.
//
// Private, the default, refuses link-local addresses (169.254.0.0/16,
// fe80::/10) and the metadata addresses only: loopback and private
// networks stay reachable, as single-computer setups and services in the
// VPC need. Public refuses every address that is not public.
package netguard
