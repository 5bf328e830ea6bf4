//! Chat-like text for the benchmarks that store messages (storage, search):
//! 200 bytes of mixed English-like words and common Chinese characters,
//! deterministic per seed. A repeated character would compress to nothing
//! and flatter any compressed store; this compresses about as chat does.

/// Target message size, bytes of UTF-8.
pub const MSG_BYTES: usize = 200;

/// Common Chinese characters of customer-service chat.
const HANZI: &str = "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知请问可以开票吗订单物流退款发货地址价格优惠客服账号密码登录支付宝微信快递尺码颜色质量售后保修安装说明";

/// xorshift64*: deterministic, so every run stores the same text.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Roughly Zipf: small indexes far more often (as words in chat).
    pub fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
}

/// Writes chat messages: one 20,000-word vocabulary (the same for every
/// writer, as one site's customers share a language) and the characters
/// above; `seed` picks the messages.
pub struct Chat {
    pub rng: Rng,
    pub words: Vec<String>,
    pub hanzi: Vec<char>,
}

impl Chat {
    pub fn new(seed: u64) -> Chat {
        const SYL: [&str; 24] = [
            "ka", "lo", "mi", "ter", "an", "ship", "or", "der", "re", "fund", "pay", "ment", "de",
            "li", "ver", "in", "voice", "ac", "count", "pro", "duct", "size", "co", "lor",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut words: Vec<String> = [
            "the", "my", "order", "is", "where", "please", "help", "invoice", "refund", "delivery",
            "thanks", "hello", "password", "account", "shipping", "payment", "price", "discount",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        while words.len() < 20_000 {
            let n = 2 + rng.below(3);
            let w: String = (0..n).map(|_| SYL[rng.below(SYL.len())]).collect();
            words.push(w);
        }
        Chat {
            // xorshift never leaves 0.
            rng: Rng((seed ^ rng.next_u64()).max(1)),
            words,
            hanzi: HANZI.chars().collect(),
        }
    }

    /// The next message: [`MSG_BYTES`] bytes, half of them mostly Chinese.
    pub fn message(&mut self) -> String {
        let rng = &mut self.rng;
        let mut s = String::with_capacity(MSG_BYTES + 16);
        let chinese = rng.below(2) == 0;
        while s.len() < MSG_BYTES {
            if chinese && rng.below(3) > 0 {
                let n = 2 + rng.below(6);
                for _ in 0..n {
                    s.push(self.hanzi[rng.zipf(self.hanzi.len())]);
                }
                s.push(if rng.below(4) == 0 { '，' } else { ' ' });
            } else {
                s.push_str(&self.words[rng.zipf(self.words.len())]);
                s.push(' ');
            }
        }
        while s.len() > MSG_BYTES {
            s.pop();
        }
        s
    }
}
