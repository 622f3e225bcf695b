//! Guards the syscall-stub bridge: if a native program's CPI silently did nothing (the failure
//! TOOLCHAIN.md describes), these tests fail.

use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{through_relay, Runtime, EPOCH_MINTER_RELAY_ID, TOKEN_PROGRAM_ID};

#[test]
fn native_cpi_into_the_token_program_really_moves_tokens() {
    let mut rt = Runtime::new();
    let mint_authority = rt.funded_keypair();
    let mint = rt.create_mint(&TOKEN_PROGRAM_ID, 6, &mint_authority.pubkey(), None);
    let relay_pda = Pubkey::find_program_address(&[b"epoch_minter"], &EPOCH_MINTER_RELAY_ID).0;
    let source = rt.mint_to(&mint, &TOKEN_PROGRAM_ID, &mint_authority, &relay_pda, 1_000);
    let receiver = Pubkey::new_unique();
    let destination = rt.token_account(&receiver, &mint, &TOKEN_PROGRAM_ID);

    let transfer = spl_token_2022::instruction::transfer_checked(
        &TOKEN_PROGRAM_ID,
        &source,
        &mint,
        &destination,
        &relay_pda,
        &[],
        400,
        6,
    )
    .unwrap();
    rt.send_ok(&[through_relay(EPOCH_MINTER_RELAY_ID, transfer)], &[]);

    assert_eq!(
        rt.token_balance(&source),
        600,
        "the CPI did not debit the source"
    );
    assert_eq!(
        rt.token_balance(&destination),
        400,
        "the CPI did not credit the destination"
    );
}

#[test]
fn native_cpi_failure_in_the_token_program_fails_the_transaction() {
    let mut rt = Runtime::new();
    let mint_authority = rt.funded_keypair();
    let mint = rt.create_mint(&TOKEN_PROGRAM_ID, 0, &mint_authority.pubkey(), None);
    let relay_pda = Pubkey::find_program_address(&[b"epoch_minter"], &EPOCH_MINTER_RELAY_ID).0;
    let source = rt.mint_to(&mint, &TOKEN_PROGRAM_ID, &mint_authority, &relay_pda, 10);
    let destination = rt.token_account(&Pubkey::new_unique(), &mint, &TOKEN_PROGRAM_ID);

    let overdraw = spl_token_2022::instruction::transfer_checked(
        &TOKEN_PROGRAM_ID,
        &source,
        &mint,
        &destination,
        &relay_pda,
        &[],
        11,
        0,
    )
    .unwrap();
    let outcome = rt.send(&[through_relay(EPOCH_MINTER_RELAY_ID, overdraw)], &[]);

    // spl-token's InsufficientFunds is custom error 1.
    groundwork_harness::assert_error(&outcome, 1u32);
    assert_eq!(rt.token_balance(&source), 10);
    assert_eq!(rt.token_balance(&destination), 0);
}

#[test]
fn the_clock_warps_and_programs_see_it() {
    let mut rt = Runtime::new();
    let start = rt.clock();
    rt.advance_seconds(86_400);
    let after = rt.clock();
    assert_eq!(after.unix_timestamp, start.unix_timestamp + 86_400);
    assert!(after.slot > start.slot);

    rt.warp_to_epoch(start.unix_timestamp, 600, 3);
    assert_eq!(rt.clock().unix_timestamp, start.unix_timestamp + 1_800);
}
