// A dApp on a Groundwork network, with the committed IDLs and the Anchor TypeScript client:
// buy service credits by burning the network token, pay a device for the service it gave,
// and read the device's record before and after.
//
// Against `groundwork localnet` (its data directory holds a funded dApp wallet and the
// simulated devices' keys):
//   RPC_URL=http://127.0.0.1:8899 LOCALNET_DIR=~/.local/share/groundwork/localnet npm start

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

import anchor, { type Idl } from "@anchor-lang/core";
import {
  ASSOCIATED_TOKEN_PROGRAM_ID,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  getAssociatedTokenAddressSync,
} from "@solana/spl-token";
import { Connection, Keypair, PublicKey } from "@solana/web3.js";

const rpcUrl = process.env.RPC_URL ?? "http://127.0.0.1:8899";
const localnetDir = process.env.LOCALNET_DIR ?? join(homedir(), ".local/share/groundwork/localnet");
const idlDir = new URL("../../idl/", import.meta.url);
// The package is CommonJS: its named exports come through the default import.
const { AnchorProvider, BN, Program, Wallet } = anchor;

/** A Solana CLI keypair file (a JSON array of 64 numbers). */
function keypairFile(path: string): Keypair {
  return Keypair.fromSecretKey(Uint8Array.from(JSON.parse(readFileSync(path, "utf8"))));
}

function idl(name: string): Idl {
  return JSON.parse(readFileSync(new URL(`${name}.json`, idlDir), "utf8")) as Idl;
}

const dapp = keypairFile(join(localnetDir, "keys/dapp.json"));
const deviceKey = keypairFile(join(localnetDir, "keys/devices/operator-1-device-1.json")).publicKey;
const connection = new Connection(rpcUrl, "confirmed");
const provider = new AnchorProvider(connection, new Wallet(dapp), { commitment: "confirmed" });
const tokenomics = new Program(idl("tokenomics"), provider);
const registry = new Program(idl("device_registry"), provider);

const [configAddress] = PublicKey.findProgramAddressSync([Buffer.from("config")], tokenomics.programId);
const [deviceAddress] = PublicKey.findProgramAddressSync(
  [Buffer.from("device"), deviceKey.toBuffer()],
  registry.programId,
);

// The network's mints, from tokenomics' config.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const accounts = tokenomics.account as any;
const config = await accounts.tokenomicsConfigV0.fetch(configAddress);
const networkMint: PublicKey = config.networkMint;
const creditMint: PublicKey = config.creditMint;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const devices = registry.account as any;
const before = await devices.deviceV0.fetch(deviceAddress);

// 1. Burn 10 network tokens for credits (the fixed localnet price: 500,000 credits).
const burned = new BN(10_000_000);
await tokenomics.methods
  .burnForCreditsV0({ amount: burned, minCreditsOut: new BN(1) })
  .accountsPartial({
    payer: dapp.publicKey,
    config: configAddress,
    payerNetworkTokens: getAssociatedTokenAddressSync(networkMint, dapp.publicKey, false, TOKEN_PROGRAM_ID),
    recipient: dapp.publicKey,
    recipientCredits: getAssociatedTokenAddressSync(creditMint, dapp.publicKey, false, TOKEN_2022_PROGRAM_ID),
    networkMint,
    creditMint,
    priceUpdate: null,
    networkTokenProgram: TOKEN_PROGRAM_ID,
    creditTokenProgram: TOKEN_2022_PROGRAM_ID,
    associatedTokenProgram: ASSOCIATED_TOKEN_PROGRAM_ID,
  })
  .rpc();

// 2. Pay the device 1,000 credits for its service.
const paid = new BN(1_000);
await registry.methods
  .payForServiceV0(paid)
  .accountsPartial({
    payer: dapp.publicKey,
    device: deviceAddress,
    creditMint,
    payerCredits: getAssociatedTokenAddressSync(creditMint, dapp.publicKey, false, TOKEN_2022_PROGRAM_ID),
    creditTokenProgram: TOKEN_2022_PROGRAM_ID,
  })
  .rpc();

// 3. The device's record shows the payment: the on-chain proof of paid usage (the localnet's
// own dApp may pay the same device meanwhile, so it grows by at least our 1,000).
const after = await devices.deviceV0.fetch(deviceAddress);
const spentBefore = BigInt(before.creditsSpent.toString());
const spentAfter = BigInt(after.creditsSpent.toString());
console.log(
  JSON.stringify({
    device: deviceKey.toBase58(),
    operator: after.operator.toBase58(),
    credits_spent_before: spentBefore.toString(),
    credits_spent_after: spentAfter.toString(),
  }),
);
if (spentAfter - spentBefore < 1_000n) {
  console.error(`expected the device's credits_spent to grow by at least 1000, it grew by ${spentAfter - spentBefore}`);
  process.exit(1);
}
