//! The Groundwork reward tree (SPEC 3.4), byte for byte what the reward program verifies:
//!
//! - leaf = sha256(0x00 || recipient (32 bytes) || cumulative_amount (u64 LE))
//! - node = sha256(0x01 || min(a, b) || max(a, b)) — sorted pairs, so a proof is a plain list
//!   of sibling hashes
//! - leaves sorted by recipient bytes; a level with an odd count carries its last node up
//!   unchanged
//! - the empty tree's root is 32 zero bytes.
//!
//! Verification (`leaf_hash`, `node_hash`, `verify`) runs on-chain (sha256 syscall) and off;
//! tree building allocates and is for the oracle, the CLI and tests.

/// A 32-byte hash.
pub type Hash32 = [u8; 32];

pub const LEAF_DOMAIN: u8 = 0x00;
pub const NODE_DOMAIN: u8 = 0x01;
/// Root of the tree without leaves.
pub const EMPTY_ROOT: Hash32 = [0; 32];

/// `sha256(0x00 || recipient || cumulative_amount LE)`.
pub fn leaf_hash(recipient: &[u8; 32], cumulative_amount: u64) -> Hash32 {
    solana_sha256_hasher::hashv(&[&[LEAF_DOMAIN], recipient, &cumulative_amount.to_le_bytes()])
        .to_bytes()
}

/// `sha256(0x01 || min(a, b) || max(a, b))`.
pub fn node_hash(a: &Hash32, b: &Hash32) -> Hash32 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    solana_sha256_hasher::hashv(&[&[NODE_DOMAIN], low, high]).to_bytes()
}

/// Whether `proof` leads from the leaf of `(recipient, cumulative_amount)` to `root`.
pub fn verify(
    root: &Hash32,
    recipient: &[u8; 32],
    cumulative_amount: u64,
    proof: &[Hash32],
) -> bool {
    let computed = proof
        .iter()
        .fold(leaf_hash(recipient, cumulative_amount), |node, sibling| {
            node_hash(&node, sibling)
        });
    &computed == root
}

/// Why a tree cannot be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeError {
    /// The same recipient twice: leaves are cumulative per recipient, one each.
    DuplicateRecipient([u8; 32]),
}

impl std::fmt::Display for TreeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TreeError::DuplicateRecipient(recipient) => {
                write!(f, "recipient {} appears twice", hex::encode(recipient))
            }
        }
    }
}

impl std::error::Error for TreeError {}

/// One recipient's cumulative reward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Leaf {
    pub recipient: [u8; 32],
    pub cumulative_amount: u64,
}

/// A built tree: every level kept, so proofs are O(log n) lookups.
#[derive(Clone, Debug)]
pub struct RewardTree {
    /// Leaves sorted by recipient.
    leaves: Vec<Leaf>,
    /// `levels[0]` are the leaf hashes, the last level is the root.
    levels: Vec<Vec<Hash32>>,
}

impl RewardTree {
    /// Builds the tree over `leaves` (any order; sorted here).
    pub fn new(mut leaves: Vec<Leaf>) -> Result<Self, TreeError> {
        leaves.sort_unstable_by_key(|leaf| leaf.recipient);
        if let Some(pair) = leaves
            .windows(2)
            .find(|pair| pair[0].recipient == pair[1].recipient)
        {
            return Err(TreeError::DuplicateRecipient(pair[0].recipient));
        }
        let mut levels = vec![leaves
            .iter()
            .map(|leaf| leaf_hash(&leaf.recipient, leaf.cumulative_amount))
            .collect::<Vec<_>>()];
        while levels.last().is_some_and(|level| level.len() > 1) {
            let below = levels.last().expect("a level");
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => node_hash(a, b),
                    [carried] => *carried,
                    _ => unreachable!("chunks of two"),
                })
                .collect();
            levels.push(above);
        }
        Ok(RewardTree { leaves, levels })
    }

    pub fn root(&self) -> Hash32 {
        self.levels
            .last()
            .and_then(|level| level.first())
            .copied()
            .unwrap_or(EMPTY_ROOT)
    }

    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Sum of every leaf's cumulative amount (u128: never overflows).
    pub fn total(&self) -> u128 {
        self.leaves
            .iter()
            .map(|leaf| u128::from(leaf.cumulative_amount))
            .sum()
    }

    pub fn leaves(&self) -> &[Leaf] {
        &self.leaves
    }

    /// The leaf of `recipient` and its proof, if it is in the tree.
    pub fn proof_for(&self, recipient: &[u8; 32]) -> Option<(Leaf, Vec<Hash32>)> {
        let index = self
            .leaves
            .binary_search_by(|leaf| leaf.recipient.cmp(recipient))
            .ok()?;
        Some((self.leaves[index], self.proof_at(index)))
    }

    /// Sibling hashes from leaf `index` up to the root (a carried node has none at its level).
    pub fn proof_at(&self, mut index: usize) -> Vec<Hash32> {
        let mut proof = Vec::with_capacity(self.levels.len());
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            let sibling = index ^ 1;
            if sibling < level.len() {
                proof.push(level[sibling]);
            }
            index /= 2;
        }
        proof
    }
}
