//! Signature validity: the ZIP-215 rule for ed25519 (SPEC 4.1), through `ed25519-zebra`.
//!
//! ZIP-215 fixes the edge cases RFC 8032 leaves open (non-canonical point encodings are
//! accepted, the cofactored equation `[8][s]B = [8]R + [8][k]A` is checked) so that single and
//! batch verification agree on every input: an oracle may verify a batch at once and reach
//! the same verdict on each message as one that verifies them one by one. Every honestly
//! produced RFC 8032 signature is valid under it.

use ed25519_zebra::{batch, Signature, VerificationKey, VerificationKeyBytes};

use crate::Key;

/// `seed`'s ed25519 signature of `message` (RFC 8032, valid under ZIP-215), and its public
/// key: how a device signs telemetry and an oracle signs its requests to its peers.
pub fn sign_bytes(seed: &[u8; 32], message: &[u8]) -> (Key, [u8; 64]) {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(seed);
    (
        Key(key.verifying_key().to_bytes()),
        key.sign(message).to_bytes(),
    )
}

/// Whether `signature` is `key`'s signature of `message` under ZIP-215.
pub fn verify_signature(key: &Key, message: &[u8], signature: &[u8; 64]) -> bool {
    VerificationKey::try_from(key.0)
        .and_then(|key| key.verify(&Signature::from(*signature), message))
        .is_ok()
}

/// One verdict per `(key, message, signature)`, the same as [`verify_signature`] gives each:
/// the whole set is checked as one batch (about twice as fast), and only a failing batch is
/// checked one by one to find its bad signatures.
pub fn verify_batch(items: &[(&Key, &[u8], &[u8; 64])]) -> Vec<bool> {
    if items.len() < 2 {
        return items
            .iter()
            .map(|(key, message, signature)| verify_signature(key, message, signature))
            .collect();
    }
    let mut verifier = batch::Verifier::new();
    for (key, message, signature) in items {
        verifier.queue((
            VerificationKeyBytes::from(key.0),
            Signature::from(**signature),
            message,
        ));
    }
    if verifier.verify(rand::thread_rng()).is_ok() {
        return vec![true; items.len()];
    }
    items
        .iter()
        .map(|(key, message, signature)| verify_signature(key, message, signature))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};

    fn honest(seed: u8, message: &[u8]) -> (Key, [u8; 64]) {
        use ed25519_dalek::Signer;
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        (
            Key(key.verifying_key().to_bytes()),
            key.sign(message).to_bytes(),
        )
    }

    /// A signature under a key with a small-order component: `A = [a]B + T` with `T` of order
    /// 8. It satisfies the cofactored equation ZIP-215 checks but not the cofactorless one
    /// (unless `k` is a multiple of 8), so implementations that disagree on it would split.
    fn mixed_order(message: &[u8]) -> (Key, [u8; 64]) {
        let a = Scalar::from_bytes_mod_order([3; 32]);
        let public = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[1];
        for nonce in 0u8..=255 {
            let r = Scalar::from_bytes_mod_order([nonce; 32]);
            let commitment = (ED25519_BASEPOINT_POINT * r).compress();
            let public_bytes = public.compress().to_bytes();
            let k = Scalar::from_bytes_mod_order_wide(
                &Sha512::new()
                    .chain_update(commitment.as_bytes())
                    .chain_update(public_bytes)
                    .chain_update(message)
                    .finalize()
                    .into(),
            );
            if k.as_bytes()[0].is_multiple_of(8) {
                continue;
            }
            let s = r + k * a;
            let mut signature = [0u8; 64];
            signature[..32].copy_from_slice(commitment.as_bytes());
            signature[32..].copy_from_slice(s.as_bytes());
            return (Key(public_bytes), signature);
        }
        unreachable!("some nonce gives k not divisible by 8")
    }

    #[test]
    fn honest_signatures_verify_alone_and_in_batches() {
        let items: Vec<(Key, Vec<u8>, [u8; 64])> = (0..20)
            .map(|index| {
                let message = vec![index; 40];
                let (key, signature) = honest(index, &message);
                (key, message, signature)
            })
            .collect();
        let borrowed: Vec<(&Key, &[u8], &[u8; 64])> = items
            .iter()
            .map(|(key, message, signature)| (key, message.as_slice(), signature))
            .collect();
        assert_eq!(verify_batch(&borrowed), vec![true; 20]);
    }

    #[test]
    fn a_bad_signature_in_a_batch_is_found_and_the_others_pass() {
        let mut items: Vec<(Key, Vec<u8>, [u8; 64])> = (0..10)
            .map(|index| {
                let message = vec![index; 40];
                let (key, signature) = honest(index, &message);
                (key, message, signature)
            })
            .collect();
        items[4].2[10] ^= 1;
        items[7].1[0] ^= 1;
        let borrowed: Vec<(&Key, &[u8], &[u8; 64])> = items
            .iter()
            .map(|(key, message, signature)| (key, message.as_slice(), signature))
            .collect();
        let verdicts = verify_batch(&borrowed);
        let expected: Vec<bool> = (0..10).map(|index| index != 4 && index != 7).collect();
        assert_eq!(verdicts, expected);
    }

    #[test]
    fn zip215_accepts_a_mixed_order_key_alone_and_in_a_batch_alike() {
        let message = b"GROUNDWORK-TLM-1 mixed order";
        let (key, signature) = mixed_order(message);
        // The cofactorless check (ed25519-dalek's `verify`) refuses it ...
        let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key.0)
            .unwrap()
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature));
        assert!(dalek.is_err());
        // ... ZIP-215 accepts it, alone and batched with honest signatures.
        assert!(verify_signature(&key, message, &signature));
        let (honest_key, honest_signature) = honest(9, message);
        let verdicts = verify_batch(&[
            (&honest_key, message.as_slice(), &honest_signature),
            (&key, message.as_slice(), &signature),
            (&honest_key, message.as_slice(), &honest_signature),
        ]);
        assert_eq!(verdicts, vec![true, true, true]);
    }
}
