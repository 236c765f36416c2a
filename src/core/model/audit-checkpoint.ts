/** A signed audit checkpoint: what the master signs, keeps outside its database and sends to every agent. */
/**
 * What a checkpoint signs: the head of the trail at `at`. `headIndex` is the head's audit
 * sequence (entries count from 1, gap-free); `previous` is the digest of the checkpoint before
 * it in the master's checkpoint file (CloudTrail's digest chain), so a checkpoint removed from
 * the file is noticed too; `keyId` names the signing key.
 */
export interface AuditCheckpointBody {
  version: 1;
  headIndex: number;
  headHash: string;
  at: number;
  previous: string | null;
  keyId: string;
}

/** A checkpoint with its Ed25519 signature (base64) over `canonicalJson(body)`. */
export interface AuditCheckpoint extends AuditCheckpointBody {
  signature: string;
}
