//! A network with tokenomics and a device registry: two device classes (the second requires
//! a maker), one approved maker, and helpers to fund credits, register operators and onboard
//! devices.

use anchor_lang::prelude::Pubkey;
use groundwork_client::device_registry as registry;
use groundwork_client::tokenomics as tokenomics_client;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{Landed, Outcome};

use crate::tokenomics_fixture::{TokenomicsNetwork, GWK};
use device_registry::{
    DeviceClassParams, DeviceClassV0, DeviceV0, OperatorV0, RegisterOperatorArgsV0,
    RegistryConfigV0,
};

/// Class 0: an outdoor hotspot, no maker needed.
pub const HOTSPOT_CLASS: u16 = 0;
/// Class 1: a sensor that needs an approved maker's attestation.
pub const SENSOR_CLASS: u16 = 1;
pub const HOTSPOT_ONBOARDING_FEE: u64 = 400_000;
pub const HOTSPOT_LOCATION_FEE: u64 = 100_000;
pub const SENSOR_ONBOARDING_FEE: u64 = 50_000;
pub const SENSOR_LOCATION_FEE: u64 = 10_000;
/// Credits one GWK buys at the default fixed price ($0.50 / $0.00001).
pub const CREDITS_PER_GWK: u64 = 50_000;

/// Valid resolution-12 H3 cells (San Francisco area, from the H3 reference data).
pub const CELL_A: u64 = 0x8c283082a30e7ff;
pub const CELL_B: u64 = 0x8c283082a30e1ff;
/// `CELL_A`'s parent at resolution 7: a valid cell, too coarse for a device location.
pub const CELL_A_RES7: u64 = 0x87283082affffff;
/// `CELL_A`'s parent at resolution 8: the coarsest cell accepted.
pub const CELL_A_RES8: u64 = 0x88283082a3fffff;
/// `CELL_A`'s center child at resolution 15: the finest cell accepted.
pub const CELL_A_RES15: u64 = 0x8f283082a30e600;

pub fn hotspot_class() -> DeviceClassParams {
    DeviceClassParams {
        name: "outdoor-hotspot".to_string(),
        onboarding_fee_credits: HOTSPOT_ONBOARDING_FEE,
        location_fee_credits: HOTSPOT_LOCATION_FEE,
        reward_weight_bps: 10_000,
        maker_attestation_required: false,
    }
}

pub fn sensor_class() -> DeviceClassParams {
    DeviceClassParams {
        name: "air-sensor".to_string(),
        onboarding_fee_credits: SENSOR_ONBOARDING_FEE,
        location_fee_credits: SENSOR_LOCATION_FEE,
        reward_weight_bps: 2_500,
        maker_attestation_required: true,
    }
}

/// `onboard_device_v0`: `payer` pays rent and the fee from its credits, `operator` and
/// `device` sign, `maker` attests when given.
pub fn onboarding(
    payer: Pubkey,
    operator: Pubkey,
    device: Pubkey,
    class_id: u16,
    maker: Option<Pubkey>,
    location: u64,
) -> anchor_lang::solana_program::instruction::Instruction {
    registry::onboard_device(registry::Onboarding {
        payer,
        operator_authority: operator,
        device_key: device,
        class_id,
        maker,
        location,
    })
}

/// A launched network with a registry.
pub struct RegistryNetwork {
    pub tokenomics: TokenomicsNetwork,
    pub maker: Keypair,
}

impl std::ops::Deref for RegistryNetwork {
    type Target = TokenomicsNetwork;
    fn deref(&self) -> &TokenomicsNetwork {
        &self.tokenomics
    }
}

impl std::ops::DerefMut for RegistryNetwork {
    fn deref_mut(&mut self) -> &mut TokenomicsNetwork {
        &mut self.tokenomics
    }
}

impl RegistryNetwork {
    pub fn launch() -> Self {
        Self::on(TokenomicsNetwork::launch())
    }

    /// Adds the registry (two classes, one approved maker) to a launched tokenomics network.
    pub fn on(mut tokenomics: TokenomicsNetwork) -> Self {
        let deployer = tokenomics.rt.deployer.insecure_clone();
        let authority = tokenomics.authority.insecure_clone();
        let maker = tokenomics.rt.funded_keypair();
        tokenomics.rt.send_ok(
            &[
                registry::initialize_registry(&deployer.pubkey(), authority.pubkey()),
                registry::add_device_class(&authority.pubkey(), HOTSPOT_CLASS, hotspot_class()),
                registry::add_device_class(&authority.pubkey(), SENSOR_CLASS, sensor_class()),
                registry::approve_maker(&authority.pubkey(), maker.pubkey()),
            ],
            &[&deployer, &authority],
        );
        RegistryNetwork { tokenomics, maker }
    }

    pub fn registry(&self) -> RegistryConfigV0 {
        self.rt.anchor_account(&registry::registry_config_address())
    }

    pub fn device(&self, device_key: &Pubkey) -> DeviceV0 {
        self.rt
            .anchor_account(&registry::device_address(device_key))
    }

    pub fn operator_record(&self, operator: &Pubkey) -> OperatorV0 {
        self.rt
            .anchor_account(&registry::operator_address(operator))
    }

    pub fn device_class(&self, class_id: u16) -> DeviceClassV0 {
        self.rt
            .anchor_account(&registry::device_class_address(class_id))
    }

    /// A funded wallet holding at least `credits` credits: it burned the smallest whole number
    /// of GWK (at least one) that buys them at the fixed price, so it holds a multiple of
    /// [`CREDITS_PER_GWK`].
    pub fn wallet_with_credits(&mut self, credits: u64) -> Keypair {
        let gwk = credits.div_ceil(CREDITS_PER_GWK).max(1) * GWK;
        let wallet = self.holder(gwk);
        self.buy_credits(&wallet, gwk, 0).unwrap();
        wallet
    }

    /// A registered operator (its own reward recipient) holding at least `credits` credits.
    pub fn operator(&mut self, credits: u64) -> Keypair {
        let operator = self.wallet_with_credits(credits);
        self.rt.send_ok(
            &[registry::register_operator(
                &operator.pubkey(),
                RegisterOperatorArgsV0 {
                    reward_recipient: operator.pubkey(),
                    metadata_uri: String::new(),
                },
            )],
            &[&operator],
        );
        operator
    }

    /// `operator` onboards a new device of `class_id` at `location`, paying itself; the
    /// network's maker attests sensors.
    pub fn onboard(
        &mut self,
        operator: &Keypair,
        class_id: u16,
        location: u64,
    ) -> (Keypair, Outcome) {
        let device = Keypair::new();
        let outcome = self.onboard_key(operator, &device, class_id, location);
        (device, outcome)
    }

    /// Like [`RegistryNetwork::onboard`], for a given device key (onboarded again, or by
    /// another operator).
    pub fn onboard_key(
        &mut self,
        operator: &Keypair,
        device: &Keypair,
        class_id: u16,
        location: u64,
    ) -> Outcome {
        let maker = self.maker.insecure_clone();
        let with_maker = class_id == SENSOR_CLASS;
        let instruction = onboarding(
            operator.pubkey(),
            operator.pubkey(),
            device.pubkey(),
            class_id,
            with_maker.then(|| maker.pubkey()),
            location,
        );
        let mut signers = vec![operator, device];
        if with_maker {
            signers.push(&maker);
        }
        self.rt.send(&[instruction], &signers)
    }

    /// Like [`RegistryNetwork::onboard`], panicking on failure.
    pub fn onboard_ok(&mut self, operator: &Keypair, class_id: u16, location: u64) -> Keypair {
        let (device, outcome) = self.onboard(operator, class_id, location);
        if let Err(refused) = outcome {
            panic!(
                "onboarding failed: {:?}\n{}",
                refused.err,
                refused.logs.join("\n")
            );
        }
        device
    }

    /// `from` transfers `device` to the operator `to`, both signing (the receiver consents).
    pub fn transfer(&mut self, from: &Keypair, to: &Keypair, device: &Pubkey) -> Outcome {
        let instruction = registry::transfer_device(&from.pubkey(), &to.pubkey(), device);
        self.rt.send(&[instruction], &[from, to])
    }

    /// The registry authority suspends `device` with `reason` (non-zero).
    pub fn suspend(&mut self, device: &Pubkey, reason: u16) -> Landed {
        let authority = self.authority.insecure_clone();
        self.rt.send_ok(
            &[registry::suspend_device(
                &authority.pubkey(),
                device,
                reason,
            )],
            &[&authority],
        )
    }

    /// Credits held by `owner`.
    pub fn credits(&self, owner: &Pubkey) -> u64 {
        self.rt
            .token_balance(&tokenomics_client::credit_account_address(owner))
    }

    pub fn credit_supply(&self) -> u64 {
        self.rt
            .mint(&tokenomics_client::credit_mint_address())
            .supply
    }
}
