//! Who signs, the Solana CLI's way: a signer argument (`--keypair`, `--device-keypair`,
//! `--maker-keypair`, `--to-keypair`) names a keypair file, or only a public key when that
//! party signs on its own machine. Such a party's signature comes in with `--signer
//! PUBKEY=SIGNATURE`, or is left absent by `--sign-only`, which signs with the keypairs at hand
//! and prints the signatures instead of sending. Every party signs the same message: the same
//! command, the same fee payer (the first signer), the same `--blockhash`, and no compute-budget
//! instructions (they would come from a simulation, which could differ).
//!
//! A blockhash stays valid for about 150 blocks (a minute or two): two parties signing with one
//! must do so within that window.

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_message::Hash;
use solana_message::Message;
use solana_signature::Signature;
use solana_signer::{Signer, SignerError};
use solana_transaction::Transaction;

/// A party to a transaction: a keypair at hand, or a public key whose signature was given
/// (`--signer`) or is to be made elsewhere.
pub struct Party {
    pubkey: Pubkey,
    keypair: Option<Keypair>,
    presigned: Option<Signature>,
}

impl Party {
    pub fn from_keypair(keypair: Keypair) -> Self {
        Party {
            pubkey: keypair.pubkey(),
            keypair: Some(keypair),
            presigned: None,
        }
    }
}

impl Signer for Party {
    fn try_pubkey(&self) -> Result<Pubkey, SignerError> {
        Ok(self.pubkey)
    }

    /// The keypair's signature; else the given one, which must be this message's; else an
    /// error (a sign-only run places absent parties' signatures itself).
    fn try_sign_message(&self, message: &[u8]) -> Result<Signature, SignerError> {
        if let Some(keypair) = &self.keypair {
            return keypair.try_sign_message(message);
        }
        match self.presigned {
            Some(signature) if signature.verify(self.pubkey.as_ref(), message) => Ok(signature),
            Some(_) => Err(SignerError::Custom(format!(
                "the --signer signature of {} is not over this transaction: the same command, fee payer and --blockhash must be used by every party",
                self.pubkey
            ))),
            None => Err(SignerError::Custom(format!(
                "{} must sign: give its keypair file, or its signature with --signer {}=SIGNATURE (made with --sign-only on its machine)",
                self.pubkey, self.pubkey
            ))),
        }
    }

    fn is_interactive(&self) -> bool {
        false
    }
}

/// Signatures given with `--signer PUBKEY=SIGNATURE`.
#[derive(Clone, Debug, Default)]
pub struct Presigned(Vec<(Pubkey, Signature)>);

impl Presigned {
    /// Reads `--signer` values.
    pub fn parse(values: &[String]) -> Result<Self> {
        values
            .iter()
            .map(|value| {
                let (key, signature) = value.split_once('=').with_context(|| {
                    format!(
                        "--signer {value:?}: write it PUBKEY=SIGNATURE, as --sign-only prints it"
                    )
                })?;
                let key: Pubkey = key
                    .trim()
                    .parse()
                    .with_context(|| format!("--signer {value:?}: {key:?} is not a public key"))?;
                let signature: Signature = signature.trim().parse().with_context(|| {
                    format!("--signer {value:?}: {signature:?} is not a base58 signature")
                })?;
                Ok((key, signature))
            })
            .collect::<Result<_>>()
            .map(Presigned)
    }

    fn of(&self, key: &Pubkey) -> Option<Signature> {
        self.0
            .iter()
            .find(|(signer, _)| signer == key)
            .map(|(_, signature)| *signature)
    }

    /// The party a signer argument names: the keypair file at `path`; else, when `path` is a
    /// public key, that key with its `--signer` signature if one was given.
    pub fn party(&self, path: &std::path::Path) -> Result<Party> {
        if !path.exists() {
            if let Some(key) = path.to_str().and_then(|text| text.parse::<Pubkey>().ok()) {
                return Ok(Party {
                    pubkey: key,
                    keypair: None,
                    presigned: self.of(&key),
                });
            }
        }
        Ok(Party::from_keypair(crate::cluster::load_keypair(path)?))
    }
}

/// What `--sign-only` prints: the message's blockhash, the signatures made here, and the
/// parties still to sign.
#[derive(Debug, Serialize)]
pub struct SignedOnly {
    pub blockhash: String,
    /// `PUBKEY=SIGNATURE`, to pass on with `--signer`.
    pub signers: Vec<String>,
    pub absent: Vec<String>,
}

impl std::fmt::Display for SignedOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Blockhash: {}", self.blockhash)?;
        writeln!(f, "Signers (Pubkey=Signature):")?;
        for signer in &self.signers {
            writeln!(f, "  {signer}")?;
        }
        if !self.absent.is_empty() {
            writeln!(f, "Absent Signers (Pubkey):")?;
            for absent in &self.absent {
                writeln!(f, "  {absent}")?;
            }
        }
        writeln!(
            f,
            "whoever sends runs the same command with --blockhash {} and a --signer PUBKEY=SIGNATURE for each signature above",
            self.blockhash
        )
    }
}

/// The message every party signs: `instructions` paid by `signers[0]`, at `blockhash`.
fn message(
    instructions: &[Instruction],
    signers: &[&dyn Signer],
    blockhash: &Hash,
) -> Result<Message> {
    let payer = signers.first().context("a transaction needs a fee payer")?;
    Ok(Message::new_with_blockhash(
        instructions,
        Some(&payer.pubkey()),
        blockhash,
    ))
}

/// Signs with every party that can sign here and reports the rest absent (`--sign-only`).
pub fn sign_only(
    instructions: &[Instruction],
    signers: &[&dyn Signer],
    blockhash: &Hash,
) -> Result<SignedOnly> {
    let message = message(instructions, signers, blockhash)?;
    let bytes = message.serialize();
    let mut signed = Vec::new();
    let mut absent = Vec::new();
    let required = usize::from(message.header.num_required_signatures);
    for key in &message.account_keys[..required] {
        let signer = signers
            .iter()
            .find(|signer| signer.pubkey() == *key)
            .with_context(|| format!("no party given for signer {key}"))?;
        match signer.try_sign_message(&bytes) {
            Ok(signature) => signed.push(format!("{key}={signature}")),
            Err(_) => absent.push(key.to_string()),
        }
    }
    Ok(SignedOnly {
        blockhash: blockhash.to_string(),
        signers: signed,
        absent,
    })
}

/// The whole transaction at `blockhash`, every signature in place (made here or given with
/// `--signer` and checked against the message).
pub fn signed_transaction(
    instructions: &[Instruction],
    signers: &[&dyn Signer],
    blockhash: &Hash,
) -> Result<Transaction> {
    let message = message(instructions, signers, blockhash)?;
    let mut transaction = Transaction::new_unsigned(message);
    transaction
        .try_sign(signers, *blockhash)
        .map_err(|error| anyhow::anyhow!("signing: {error}"))?;
    if transaction.verify().is_err() {
        bail!("a signature does not match the transaction: every party must sign the same command with the same --blockhash");
    }
    Ok(transaction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(from: &Pubkey, to: &Pubkey) -> Instruction {
        anchor_lang::solana_program::system_instruction::transfer(from, to, 1)
    }

    #[test]
    fn two_parties_sign_apart_and_the_second_sends_a_whole_transaction() {
        let payer = Keypair::new();
        let cosigner = Keypair::new();
        let blockhash = Hash::new_unique();
        let mut instruction = transfer(&payer.pubkey(), &Pubkey::new_unique());
        instruction.accounts.push(
            anchor_lang::solana_program::instruction::AccountMeta::new_readonly(
                cosigner.pubkey(),
                true,
            ),
        );
        // The payer signs on its machine; the co-signer is only a key there.
        let here = Presigned::default();
        let payer_party = Party::from_keypair(payer.insecure_clone());
        let cosigner_key = cosigner.pubkey().to_string();
        let absent = here.party(std::path::Path::new(&cosigner_key)).unwrap();
        let first = sign_only(
            std::slice::from_ref(&instruction),
            &[&payer_party, &absent],
            &blockhash,
        )
        .unwrap();
        assert_eq!(first.absent, vec![cosigner_key.clone()]);
        assert_eq!(first.signers.len(), 1);
        // The co-signer finishes with the payer's signature.
        let given = Presigned::parse(&first.signers).unwrap();
        let payer_key = payer.pubkey().to_string();
        let payer_there = given.party(std::path::Path::new(&payer_key)).unwrap();
        let cosigner_party = Party::from_keypair(cosigner.insecure_clone());
        let transaction = signed_transaction(
            std::slice::from_ref(&instruction),
            &[&payer_there, &cosigner_party],
            &blockhash,
        )
        .unwrap();
        assert!(transaction.verify().is_ok());
        // Another blockhash is another message: the given signature no longer fits.
        let error = signed_transaction(
            &[instruction],
            &[&payer_there, &cosigner_party],
            &Hash::new_unique(),
        )
        .unwrap_err();
        assert!(
            format!("{error:#}").contains("is not over this transaction"),
            "{error:#}"
        );
    }

    #[test]
    fn signer_values_are_read_or_refused_with_their_form() {
        assert!(Presigned::parse(&["nonsense".into()]).is_err());
        let key = Pubkey::new_unique();
        assert!(Presigned::parse(&[format!("{key}=notasignature")]).is_err());
        let signature = Signature::from([7u8; 64]);
        let parsed = Presigned::parse(&[format!("{key}={signature}")]).unwrap();
        assert_eq!(parsed.of(&key), Some(signature));
    }
}
