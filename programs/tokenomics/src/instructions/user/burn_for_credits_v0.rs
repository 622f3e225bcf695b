use anchor_lang::prelude::*;
use anchor_spl::associated_token::AssociatedToken;
use anchor_spl::token_interface::{
    burn, mint_to, Burn, Mint, MintTo, Token2022, TokenAccount, TokenInterface,
};
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::errors::TokenomicsError;
use crate::events::CreditsPurchased;
use crate::math::{check_price_age, conservative_price, credits_for_burn};
use crate::state::{seeds, PriceSource, TokenomicsConfigV0};

/// Decimal exponent of a fixed price (`price_usd_e8`).
pub const FIXED_PRICE_EXPONENT: i32 = -8;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurnForCreditsArgsV0 {
    /// Network token base units to burn.
    pub amount: u64,
    /// Slippage guard: the burn fails rather than buy fewer credits than this.
    pub min_credits_out: u64,
}

/// A payer burns network tokens from its own account and `recipient` receives service
/// credits at the conservative price of the configured source (the recipient's credit account
/// is created if needed, paid by the payer).
#[event_cpi]
#[derive(Accounts)]
pub struct BurnForCreditsV0<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(
        seeds = [seeds::CONFIG],
        bump = config.bump,
        has_one = network_mint,
        has_one = credit_mint,
    )]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
    #[account(
        mut,
        token::mint = network_mint,
        token::authority = payer,
        token::token_program = network_token_program,
    )]
    pub payer_network_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: any wallet; it only owns the credit account below.
    pub recipient: UncheckedAccount<'info>,
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = credit_mint,
        associated_token::authority = recipient,
        associated_token::token_program = credit_token_program,
    )]
    pub recipient_credits: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, mint::token_program = network_token_program)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut, mint::token_program = credit_token_program)]
    pub credit_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: PDA that signs credit mints; holds no data.
    #[account(seeds = [seeds::CREDIT_MINT_AUTHORITY], bump = config.credit_mint_authority_bump)]
    pub credit_mint_authority: UncheckedAccount<'info>,
    /// Required when the price source is Pyth: owned by the Pyth receiver program (checked).
    pub price_update: Option<Box<Account<'info, PriceUpdateV2>>>,
    pub network_token_program: Interface<'info, TokenInterface>,
    pub credit_token_program: Program<'info, Token2022>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

/// A USD price per whole network token: `price * 10^exponent`.
struct UsdPrice {
    price: u64,
    exponent: i32,
    from_pyth: bool,
}

impl BurnForCreditsV0<'_> {
    /// Something is burned.
    pub fn validate(&self, args: &BurnForCreditsArgsV0) -> Result<()> {
        require!(args.amount > 0, TokenomicsError::ZeroAmount);
        Ok(())
    }

    /// Reads the price the configured source gives right now. A Pyth update must be for the
    /// configured feed, fully verified, and published at most `max_price_age_s` before or
    /// after `now_unix_s` (see [`check_price_age`]: a small lead over Solana's clock is
    /// tolerated, a far-future date is refused).
    fn current_price(&self, now_unix_s: i64) -> Result<UsdPrice> {
        match self.config.price_source {
            PriceSource::Fixed { price_usd_e8 } => Ok(UsdPrice {
                price: price_usd_e8,
                exponent: FIXED_PRICE_EXPONENT,
                from_pyth: false,
            }),
            PriceSource::Pyth {
                feed_id,
                max_price_age_s,
            } => {
                let update = self
                    .price_update
                    .as_ref()
                    .ok_or(TokenomicsError::PriceAccountMissing)?;
                let message = &update.price_message;
                require!(message.feed_id == feed_id, TokenomicsError::WrongPriceFeed);
                require!(
                    update.verification_level == VerificationLevel::Full,
                    TokenomicsError::PriceNotFullyVerified
                );
                check_price_age(now_unix_s, message.publish_time, max_price_age_s)?;
                Ok(UsdPrice {
                    price: conservative_price(message.ema_price, message.ema_conf)?,
                    exponent: message.exponent,
                    from_pyth: true,
                })
            }
        }
    }
}

/// Burns `args.amount` from the payer and mints the recipient the credits it buys at the
/// current price (floored), refusing fewer than `args.min_credits_out`.
#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<BurnForCreditsV0>, args: BurnForCreditsArgsV0) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &ctx.accounts;
    let price = accounts.current_price(now)?;
    let credits = credits_for_burn(
        args.amount,
        price.price,
        price.exponent,
        accounts.network_mint.decimals,
        accounts.config.usd_per_credit_e9,
    )?;
    require!(credits > 0, TokenomicsError::BurnBuysNoCredits);
    require!(
        credits >= args.min_credits_out,
        TokenomicsError::SlippageExceeded
    );

    burn(
        CpiContext::new(
            accounts.network_token_program.key(),
            Burn {
                mint: accounts.network_mint.to_account_info(),
                from: accounts.payer_network_tokens.to_account_info(),
                authority: accounts.payer.to_account_info(),
            },
        ),
        args.amount,
    )?;
    let authority_seeds: &[&[&[u8]]] = &[&[
        seeds::CREDIT_MINT_AUTHORITY,
        &[accounts.config.credit_mint_authority_bump],
    ]];
    mint_to(
        CpiContext::new_with_signer(
            accounts.credit_token_program.key(),
            MintTo {
                mint: accounts.credit_mint.to_account_info(),
                to: accounts.recipient_credits.to_account_info(),
                authority: accounts.credit_mint_authority.to_account_info(),
            },
            authority_seeds,
        ),
        credits,
    )?;
    let payer = accounts.payer.key();
    let recipient = accounts.recipient.key();
    let usd_per_credit_e9 = accounts.config.usd_per_credit_e9;
    let network_token_decimals = accounts.network_mint.decimals;
    ctx.accounts.recipient_credits.reload()?;
    let recipient_credits_after = ctx.accounts.recipient_credits.amount;
    emit_cpi!(CreditsPurchased {
        unix_timestamp: now,
        payer,
        recipient,
        network_tokens_burned: args.amount,
        credits_minted: credits,
        recipient_credits_after,
        price: price.price,
        exponent: price.exponent,
        from_pyth: price.from_pyth,
        usd_per_credit_e9,
        network_token_decimals,
    });
    Ok(())
}
