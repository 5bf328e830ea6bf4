//! Default visitor names: a readable adjective + animal pair ("Clever
//! Panda", "机智的熊猫"), the same for one visitor id everywhere, shown until
//! the host page identifies the visitor (`user.name`).
//!
//! The whole id is hashed (FNV-1a, then a 64-bit finaliser to spread it):
//! visitor ids start with their creation time, so everyone arriving within
//! the same hour shares a prefix and only the hash of the whole id tells
//! them apart. With [`ADJECTIVES`] × [`ANIMALS`] = 6,400 names, a few
//! hundred visitors rarely share one (about 3 pairs among 200).
//!
//! Both tables are index-aligned: a visitor is "Clever Panda" to an English
//! console and "机智的熊猫" to a Chinese one.

use std::hash::Hasher;

/// Adjectives: (English, Chinese with its 的).
pub const ADJECTIVES: [(&str, &str); 80] = [
    ("Brave", "勇敢的"),
    ("Calm", "沉着的"),
    ("Clever", "机智的"),
    ("Cheerful", "开朗的"),
    ("Curious", "好奇的"),
    ("Daring", "大胆的"),
    ("Eager", "热心的"),
    ("Gentle", "温柔的"),
    ("Happy", "快乐的"),
    ("Jolly", "欢乐的"),
    ("Kind", "善良的"),
    ("Lively", "活泼的"),
    ("Lucky", "幸运的"),
    ("Merry", "愉快的"),
    ("Nimble", "敏捷的"),
    ("Patient", "耐心的"),
    ("Polite", "礼貌的"),
    ("Proud", "骄傲的"),
    ("Quick", "迅速的"),
    ("Quiet", "安静的"),
    ("Shy", "害羞的"),
    ("Silly", "傻乎乎的"),
    ("Sleepy", "困倦的"),
    ("Smart", "聪明的"),
    ("Sunny", "阳光的"),
    ("Swift", "飞快的"),
    ("Tidy", "整洁的"),
    ("Witty", "风趣的"),
    ("Wise", "睿智的"),
    ("Zealous", "热情的"),
    ("Bold", "果敢的"),
    ("Bright", "明亮的"),
    ("Busy", "忙碌的"),
    ("Cozy", "惬意的"),
    ("Cute", "可爱的"),
    ("Dreamy", "爱做梦的"),
    ("Fancy", "时髦的"),
    ("Fluffy", "毛茸茸的"),
    ("Friendly", "友好的"),
    ("Funny", "有趣的"),
    ("Fuzzy", "软绵绵的"),
    ("Gallant", "英勇的"),
    ("Glad", "高兴的"),
    ("Graceful", "优雅的"),
    ("Hardy", "坚强的"),
    ("Honest", "诚实的"),
    ("Humble", "谦虚的"),
    ("Jaunty", "潇洒的"),
    ("Keen", "敏锐的"),
    ("Loyal", "忠诚的"),
    ("Mellow", "温和的"),
    ("Mighty", "强大的"),
    ("Modest", "低调的"),
    ("Noble", "高贵的"),
    ("Peppy", "元气满满的"),
    ("Plucky", "勇猛的"),
    ("Rosy", "红润的"),
    ("Sincere", "真诚的"),
    ("Snappy", "利落的"),
    ("Spry", "矫健的"),
    ("Steady", "稳重的"),
    ("Sturdy", "结实的"),
    ("Sweet", "甜美的"),
    ("Thrifty", "节俭的"),
    ("Tough", "顽强的"),
    ("Upbeat", "乐观的"),
    ("Valiant", "无畏的"),
    ("Vivid", "鲜活的"),
    ("Warm", "暖心的"),
    ("Zippy", "轻快的"),
    ("Agile", "灵活的"),
    ("Artful", "灵巧的"),
    ("Chatty", "健谈的"),
    ("Dapper", "帅气的"),
    ("Frank", "坦率的"),
    ("Giddy", "兴奋的"),
    ("Hearty", "豪爽的"),
    ("Jovial", "爽朗的"),
    ("Mindful", "细心的"),
    ("Radiant", "灿烂的"),
];

/// Animals: (English, Chinese).
pub const ANIMALS: [(&str, &str); 80] = [
    ("Panda", "熊猫"),
    ("Tiger", "老虎"),
    ("Lion", "狮子"),
    ("Fox", "狐狸"),
    ("Wolf", "狼"),
    ("Bear", "熊"),
    ("Rabbit", "兔子"),
    ("Deer", "鹿"),
    ("Otter", "水獭"),
    ("Koala", "考拉"),
    ("Penguin", "企鹅"),
    ("Dolphin", "海豚"),
    ("Whale", "鲸鱼"),
    ("Eagle", "老鹰"),
    ("Owl", "猫头鹰"),
    ("Parrot", "鹦鹉"),
    ("Swan", "天鹅"),
    ("Crane", "仙鹤"),
    ("Duck", "鸭子"),
    ("Goose", "大鹅"),
    ("Sparrow", "麻雀"),
    ("Robin", "知更鸟"),
    ("Falcon", "猎鹰"),
    ("Peacock", "孔雀"),
    ("Flamingo", "火烈鸟"),
    ("Pelican", "鹈鹕"),
    ("Hedgehog", "刺猬"),
    ("Squirrel", "松鼠"),
    ("Beaver", "河狸"),
    ("Badger", "獾"),
    ("Raccoon", "浣熊"),
    ("Mole", "鼹鼠"),
    ("Hamster", "仓鼠"),
    ("Mouse", "老鼠"),
    ("Cat", "猫咪"),
    ("Puppy", "小狗"),
    ("Horse", "骏马"),
    ("Pony", "小马"),
    ("Zebra", "斑马"),
    ("Giraffe", "长颈鹿"),
    ("Elephant", "大象"),
    ("Rhino", "犀牛"),
    ("Hippo", "河马"),
    ("Camel", "骆驼"),
    ("Llama", "羊驼"),
    ("Sheep", "绵羊"),
    ("Goat", "山羊"),
    ("Yak", "牦牛"),
    ("Moose", "驼鹿"),
    ("Bison", "野牛"),
    ("Kangaroo", "袋鼠"),
    ("Wombat", "袋熊"),
    ("Sloth", "树懒"),
    ("Lemur", "狐猴"),
    ("Monkey", "猴子"),
    ("Gorilla", "大猩猩"),
    ("Leopard", "豹子"),
    ("Cheetah", "猎豹"),
    ("Lynx", "猞猁"),
    ("Jaguar", "美洲豹"),
    ("Seal", "海豹"),
    ("Walrus", "海象"),
    ("Turtle", "海龟"),
    ("Tortoise", "陆龟"),
    ("Frog", "青蛙"),
    ("Gecko", "壁虎"),
    ("Lizard", "蜥蜴"),
    ("Crab", "螃蟹"),
    ("Lobster", "龙虾"),
    ("Octopus", "章鱼"),
    ("Squid", "鱿鱼"),
    ("Shark", "鲨鱼"),
    ("Salmon", "三文鱼"),
    ("Goldfish", "金鱼"),
    ("Butterfly", "蝴蝶"),
    ("Bee", "蜜蜂"),
    ("Ladybug", "瓢虫"),
    ("Dragonfly", "蜻蜓"),
    ("Firefly", "萤火虫"),
    ("Magpie", "喜鹊"),
];

/// Whether a language tag (`zh`, `zh-CN`, `en-GB`, …) asks for Chinese
/// names; every other language gets English ones.
pub fn is_chinese(lang: &str) -> bool {
    let l = lang.trim().to_ascii_lowercase();
    l == "zh" || l.starts_with("zh-") || l.starts_with("zh_")
}

/// The default name of the visitor with id `id`, in `lang` (a language tag:
/// Chinese for `zh*`, English otherwise). Deterministic: the same id gives
/// the same name on every screen and every build.
pub fn default_visitor_name(id: &str, lang: &str) -> String {
    let (adj, animal) = name_indices(id);
    let (a_en, a_zh) = ADJECTIVES[adj];
    let (n_en, n_zh) = ANIMALS[animal];
    if is_chinese(lang) {
        format!("{a_zh}{n_zh}")
    } else {
        format!("{a_en} {n_en}")
    }
}

/// (adjective, animal) indices of an id: the whole id through FNV-1a, then
/// the SplitMix64 finaliser, so ids differing in one late character land on
/// unrelated names.
fn name_indices(id: &str) -> (usize, usize) {
    let mut h = fnv::FnvHasher::default();
    h.write(id.as_bytes());
    let mut x = h.finish();
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    let adj = (x % ADJECTIVES.len() as u64) as usize;
    let animal = ((x >> 32) % ANIMALS.len() as u64) as usize;
    (adj, animal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A visitor id as the widget mints it (`widget/src/js.rs` `new_id`):
    /// "v", the creation time in ms as base 36, then two 6-character chunks
    /// of `Math.random()` in base 36. `rand` is a fixed-seed xorshift, so
    /// the test is the same on every run.
    fn widget_id(ms: u64, rand: &mut u64) -> String {
        fn base36(mut n: u64) -> String {
            let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
            let mut out = Vec::new();
            loop {
                out.push(digits[(n % 36) as usize]);
                n /= 36;
                if n == 0 {
                    break;
                }
            }
            out.reverse();
            String::from_utf8(out).unwrap_or_default()
        }
        let mut id = format!("v{}", base36(ms));
        for _ in 0..2 {
            *rand ^= *rand << 13;
            *rand ^= *rand >> 7;
            *rand ^= *rand << 17;
            let chunk = base36(*rand % 36u64.pow(6));
            id.push_str(&format!("{chunk:0>6}"));
        }
        id
    }

    /// 200 visitors arriving a few seconds apart (same id prefix for all of
    /// them) still get at least 190 distinct names.
    #[test]
    fn consecutive_time_ordered_ids_get_distinct_names() {
        let mut rand = 0x2545_f491_4f6c_dd1d_u64;
        let start = 1_796_000_000_000_u64;
        let ids: Vec<String> = (0..200)
            .map(|i| widget_id(start + i * 7_000, &mut rand))
            .collect();
        let prefixes: HashSet<&str> = ids.iter().map(|i| &i[..5]).collect();
        assert!(prefixes.len() <= 2, "ids share their prefix: {prefixes:?}");
        for lang in ["en", "zh-CN"] {
            let names: HashSet<String> =
                ids.iter().map(|i| default_visitor_name(i, lang)).collect();
            assert!(names.len() >= 190, "{lang}: {} distinct", names.len());
        }
    }

    /// Ids a character apart (the widget's are time + randomness; a script
    /// may count) are told apart too.
    #[test]
    fn ids_differing_in_one_late_character_differ() {
        let names: HashSet<String> = (0..200)
            .map(|i| default_visitor_name(&format!("vmx50s{i:03}"), "en"))
            .collect();
        assert!(names.len() >= 190, "{} distinct", names.len());
    }

    #[test]
    fn names_are_deterministic_and_in_the_asked_language() {
        let en = default_visitor_name("vmx50sabc123def456", "en-GB");
        assert_eq!(en, default_visitor_name("vmx50sabc123def456", "en"));
        let (a, n) = en.split_once(' ').expect("two words");
        let i = ADJECTIVES.iter().position(|(e, _)| *e == a).expect("adj");
        let j = ANIMALS.iter().position(|(e, _)| *e == n).expect("animal");
        let zh = default_visitor_name("vmx50sabc123def456", "zh-CN");
        assert_eq!(zh, format!("{}{}", ADJECTIVES[i].1, ANIMALS[j].1));
        assert_eq!(zh, default_visitor_name("vmx50sabc123def456", "zh"));
        assert_eq!(en, default_visitor_name("vmx50sabc123def456", "fr"));
        assert!(!is_chinese("en") && is_chinese("zh-TW") && is_chinese("ZH"));
    }

    #[test]
    fn word_lists_have_no_repeats() {
        fn pick(p: &(&'static str, &'static str), zh: bool) -> &'static str {
            if zh {
                p.1
            } else {
                p.0
            }
        }
        for zh in [false, true] {
            let a: HashSet<&str> = ADJECTIVES.iter().map(|p| pick(p, zh)).collect();
            let n: HashSet<&str> = ANIMALS.iter().map(|p| pick(p, zh)).collect();
            assert_eq!(a.len(), ADJECTIVES.len());
            assert_eq!(n.len(), ANIMALS.len());
        }
    }
}
