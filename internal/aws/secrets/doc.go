// Package secrets seals sensitive values (for example an environment
// variable marked sensitive) before they are written to the catalog, and
// opens them again when an execution needs them.
//
// A Sealer binds every sealed value to an encryption context: a few
// name/value pairs saying what the value is (the catalog uses its folder,
// environment and variable). Opening with another context fails, so a
// sealed value copied from one item to another cannot be opened there.
//
// Two sealers:
//
//   - LocalSealer: AES-256-GCM with a 32-byte key from configuration
//     (SCALEOUT_SECRET_KEY, base64 or hex; see KeyFromEnv). The context is
//     the additional authenticated data. Used locally and where KMS is not
//     wanted. Losing the key loses every sealed value; changing it makes
//     them unreadable.
//   - KMSSealer: AWS KMS Encrypt/Decrypt with a key id and the context as
//     KMS's EncryptionContext, so CloudTrail records which value was opened.
//     Values are limited to 4096 bytes (KMS's limit). It has no test here:
//     there is no KMS stand-in on these machines and the project does not
//     mock the AWS SDK; it is kept to two SDK calls.
//
// A sealed value is text: "v1:<kind>:<base64>", kind "local" or "kms". The
// version and kind are authenticated with the value, so a future format
// can be told apart and a value is never opened by the wrong sealer.
package secrets
