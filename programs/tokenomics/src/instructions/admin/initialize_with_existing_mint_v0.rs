use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions, ExtensionType, StateWithExtensions,
};
use anchor_spl::token_2022::spl_token_2022::instruction::AuthorityType;
use anchor_spl::token_interface::{set_authority, Mint, SetAuthority, Token2022, TokenInterface};

use super::setup::{create_credit_mint, write_config, ConfigBumps, ConfigMints, InitializeArgsV0};
use crate::errors::TokenomicsError;
use crate::state::{seeds, TokenomicsConfigV0};

/// Token-2022 mint extensions an adopted network token may carry: descriptive ones only.
/// Anything else (permanent delegate, transfer hook or fee, pausing, default-frozen accounts,
/// confidential transfers, a close authority, non-transferability...) would let someone move,
/// tax, freeze or hide holders' tokens, or break the vaults' accounting.
pub const ALLOWED_MINT_EXTENSIONS: [ExtensionType; 6] = [
    ExtensionType::MetadataPointer,
    ExtensionType::TokenMetadata,
    ExtensionType::GroupPointer,
    ExtensionType::TokenGroup,
    ExtensionType::GroupMemberPointer,
    ExtensionType::TokenGroupMember,
];

/// Creates the network around an existing network token mint: its current mint authority
/// signs and hands minting over to the program's PDA. A freeze authority held by that same
/// key is revoked; one held by anybody else is refused (it could freeze holders' tokens), and
/// so is a Token-2022 mint with an extension outside [`ALLOWED_MINT_EXTENSIONS`].
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: InitializeArgsV0)]
pub struct InitializeWithExistingMintV0<'info> {
    /// The program's upgrade authority; pays for every account created.
    #[account(mut)]
    pub deployer: Signer<'info>,
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(deployer.key())
            @ TokenomicsError::NotUpgradeAuthority,
    )]
    pub program_data: Account<'info, ProgramData>,
    #[account(
        init,
        payer = deployer,
        space = 8 + TokenomicsConfigV0::INIT_SPACE,
        seeds = [seeds::CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
    #[account(mut, mint::token_program = network_token_program)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The mint's current mint authority, handing it over.
    pub current_mint_authority: Signer<'info>,
    /// CHECK: PDA that signs network token mints; holds no data.
    #[account(seeds = [seeds::NETWORK_MINT_AUTHORITY], bump)]
    pub network_mint_authority: UncheckedAccount<'info>,
    /// CHECK: created here as a Token-2022 NonTransferable mint at this PDA.
    #[account(mut, seeds = [seeds::CREDIT_MINT], bump)]
    pub credit_mint: UncheckedAccount<'info>,
    /// CHECK: PDA that signs credit mints; holds no data.
    #[account(seeds = [seeds::CREDIT_MINT_AUTHORITY], bump)]
    pub credit_mint_authority: UncheckedAccount<'info>,
    pub network_token_program: Interface<'info, TokenInterface>,
    pub credit_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

impl InitializeWithExistingMintV0<'_> {
    /// The signer is the mint's mint authority, nobody else can freeze it, it carries no
    /// extension outside [`ALLOWED_MINT_EXTENSIONS`], and the parameters are valid for its
    /// current supply.
    pub fn validate(&self, args: &InitializeArgsV0) -> Result<()> {
        let mint = &self.network_mint;
        let signer = self.current_mint_authority.key();
        require!(
            Option::<Pubkey>::from(mint.mint_authority) == Some(signer),
            TokenomicsError::NotMintAuthority
        );
        if let Some(freeze_authority) = Option::<Pubkey>::from(mint.freeze_authority) {
            require_keys_eq!(
                freeze_authority,
                signer,
                TokenomicsError::ForeignFreezeAuthority
            );
        }
        self.validate_extensions()?;
        args.validate(mint.supply)
    }

    fn validate_extensions(&self) -> Result<()> {
        let mint_info = self.network_mint.to_account_info();
        if *mint_info.owner != spl_token_2022::ID {
            return Ok(());
        }
        let data = mint_info.try_borrow_data()?;
        let mint = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data)?;
        require!(
            mint.get_extension_types()?
                .iter()
                .all(|extension| ALLOWED_MINT_EXTENSIONS.contains(extension)),
            TokenomicsError::UnsupportedMintExtension
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<InitializeWithExistingMintV0>, args: InitializeArgsV0) -> Result<()> {
    let accounts = &ctx.accounts;
    let token_program = accounts.network_token_program.key();
    let hand_over = |authority_type: AuthorityType, new_authority: Option<Pubkey>| {
        set_authority(
            CpiContext::new(
                token_program,
                SetAuthority {
                    current_authority: accounts.current_mint_authority.to_account_info(),
                    account_or_mint: accounts.network_mint.to_account_info(),
                },
            ),
            authority_type,
            new_authority,
        )
    };
    hand_over(
        AuthorityType::MintTokens,
        Some(accounts.network_mint_authority.key()),
    )?;
    if accounts.network_mint.freeze_authority.is_some() {
        hand_over(AuthorityType::FreezeAccount, None)?;
    }
    create_credit_mint(
        &accounts.deployer,
        &accounts.credit_mint.to_account_info(),
        ctx.bumps.credit_mint,
        &accounts.credit_mint_authority.key(),
        &accounts.credit_token_program.to_account_info(),
        &accounts.system_program.to_account_info(),
    )?;
    let mints = ConfigMints {
        network_mint: accounts.network_mint.key(),
        credit_mint: accounts.credit_mint.key(),
        initial_supply: accounts.network_mint.supply,
        adopted_existing_mint: true,
    };
    let bumps = ConfigBumps {
        config: ctx.bumps.config,
        network_mint_authority: ctx.bumps.network_mint_authority,
        credit_mint_authority: ctx.bumps.credit_mint_authority,
    };
    let event = write_config(&mut ctx.accounts.config, args, bumps, mints)?;
    emit_cpi!(event);
    Ok(())
}
