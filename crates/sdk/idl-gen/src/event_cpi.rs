//! Completes the `#[event_cpi]` accounts in a built IDL. Anchor's IDL gives the
//! `event_authority` account no seeds and the `program` account after it no address (an
//! Anchor limitation), so a client generated from the IDL (Codama, @anchor-lang/core) would
//! silently pass whatever the caller supplies, typically the program id, as the event authority.
//! [`complete_event_cpi_accounts`] adds the PDA seeds `["__event_authority"]` and the program's
//! own address, so generated clients derive both.

use anyhow::{Context, Result};
use serde_json::{json, Value};

/// The seed of the `event_authority` PDA of `#[event_cpi]` (Anchor's `EVENT_AUTHORITY_SEED`).
pub const EVENT_AUTHORITY_SEED: &[u8] = b"__event_authority";

/// In every instruction of `idl` (and every nested account group), gives each account named
/// `event_authority` without a `pda` the constant seeds `["__event_authority"]`, and the
/// account named `program` right after it without an `address` the IDL's own program address.
/// Accounts that already have seeds or an address are left as they are.
pub fn complete_event_cpi_accounts(idl: &mut Value) -> Result<()> {
    let program_address = idl
        .get("address")
        .and_then(Value::as_str)
        .context("the IDL has no program address")?
        .to_owned();
    let instructions = idl
        .get_mut("instructions")
        .and_then(Value::as_array_mut)
        .context("the IDL has no instruction list")?;
    for instruction in instructions {
        if let Some(accounts) = instruction
            .get_mut("accounts")
            .and_then(Value::as_array_mut)
        {
            complete_accounts(accounts, &program_address);
        }
    }
    Ok(())
}

/// Completes one account list, recursing into nested groups (`{"name", "accounts": [...]}`).
fn complete_accounts(accounts: &mut [Value], program_address: &str) {
    let mut after_event_authority = false;
    for account in accounts {
        let Some(fields) = account.as_object_mut() else {
            after_event_authority = false;
            continue;
        };
        if let Some(nested) = fields.get_mut("accounts").and_then(Value::as_array_mut) {
            complete_accounts(nested, program_address);
            after_event_authority = false;
            continue;
        }
        let name = fields.get("name").and_then(Value::as_str);
        let is_event_authority = name == Some("event_authority");
        let is_event_program = after_event_authority && name == Some("program");
        if is_event_authority && !fields.contains_key("pda") {
            fields.insert("pda".to_owned(), event_authority_pda());
        }
        if is_event_program && !fields.contains_key("address") {
            fields.insert(
                "address".to_owned(),
                Value::String(program_address.to_owned()),
            );
        }
        after_event_authority = is_event_authority;
    }
}

/// `{"seeds": [{"kind": "const", "value": [bytes of "__event_authority"]}]}`, the shape the
/// IDL gives every other constant-seeded PDA.
fn event_authority_pda() -> Value {
    json!({ "seeds": [{ "kind": "const", "value": EVENT_AUTHORITY_SEED }] })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = "F1TGAAdEZJRWdf9Y67NHSH3Z2hbcqHooZ7yThD1ccFEf";

    fn sample() -> Value {
        json!({
            "address": PROGRAM,
            "metadata": { "name": "sample", "version": "0.1.0", "spec": "0.1.0" },
            "instructions": [
                {
                    "name": "plain",
                    "discriminator": [1, 2, 3, 4, 5, 6, 7, 8],
                    "accounts": [
                        { "name": "authority", "signer": true },
                        {
                            "name": "config",
                            "writable": true,
                            "pda": { "seeds": [{ "kind": "const", "value": [99, 111, 110, 102, 105, 103] }] }
                        },
                        { "name": "event_authority" },
                        { "name": "program" }
                    ],
                    "args": []
                },
                {
                    "name": "grouped",
                    "discriminator": [8, 7, 6, 5, 4, 3, 2, 1],
                    "accounts": [
                        { "name": "program" },
                        {
                            "name": "inner",
                            "accounts": [
                                { "name": "payer", "signer": true },
                                { "name": "event_authority" },
                                { "name": "program" }
                            ]
                        }
                    ],
                    "args": []
                }
            ]
        })
    }

    fn event_authority_seeds() -> Value {
        json!({ "seeds": [{ "kind": "const", "value": EVENT_AUTHORITY_SEED }] })
    }

    #[test]
    fn event_authority_gets_its_seeds_and_the_program_its_address() {
        let mut idl = sample();
        complete_event_cpi_accounts(&mut idl).unwrap();
        let accounts = &idl["instructions"][0]["accounts"];
        assert_eq!(accounts[2]["pda"], event_authority_seeds());
        assert_eq!(
            accounts[2]["pda"]["seeds"][0]["value"],
            json!([
                95, 95, 101, 118, 101, 110, 116, 95, 97, 117, 116, 104, 111, 114, 105, 116, 121
            ])
        );
        assert_eq!(accounts[3]["address"], json!(PROGRAM));
        // Other accounts are untouched.
        assert_eq!(accounts[0], json!({ "name": "authority", "signer": true }));
        assert_eq!(
            accounts[1]["pda"]["seeds"][0]["value"],
            json!(b"config".to_vec())
        );
    }

    #[test]
    fn nested_groups_are_completed_and_a_lone_program_account_is_not() {
        let mut idl = sample();
        complete_event_cpi_accounts(&mut idl).unwrap();
        let accounts = &idl["instructions"][1]["accounts"];
        // A `program` account that does not follow an event authority is some other program.
        assert_eq!(accounts[0], json!({ "name": "program" }));
        let inner = &accounts[1]["accounts"];
        assert_eq!(inner[1]["pda"], event_authority_seeds());
        assert_eq!(inner[2]["address"], json!(PROGRAM));
    }

    #[test]
    fn existing_seeds_and_addresses_are_kept_and_a_second_pass_changes_nothing() {
        let mut idl = sample();
        let custom = json!({ "seeds": [{ "kind": "const", "value": [1] }] });
        idl["instructions"][0]["accounts"][2]["pda"] = custom.clone();
        idl["instructions"][0]["accounts"][3]["address"] =
            json!("11111111111111111111111111111111");
        complete_event_cpi_accounts(&mut idl).unwrap();
        let accounts = &idl["instructions"][0]["accounts"];
        assert_eq!(accounts[2]["pda"], custom);
        assert_eq!(
            accounts[3]["address"],
            json!("11111111111111111111111111111111")
        );
        let once = idl.clone();
        complete_event_cpi_accounts(&mut idl).unwrap();
        assert_eq!(idl, once);
    }

    #[test]
    fn the_completed_sample_reads_as_a_typed_idl() {
        let mut idl = sample();
        complete_event_cpi_accounts(&mut idl).unwrap();
        let typed: anchor_lang_idl::types::Idl = serde_json::from_value(idl.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), idl);
    }

    #[test]
    fn an_idl_without_an_address_is_an_error() {
        let mut idl = json!({ "instructions": [] });
        assert!(complete_event_cpi_accounts(&mut idl).is_err());
    }
}
