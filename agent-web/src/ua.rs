//! Browser and OS from a user-agent string, for the visitor list. Order
//! matters: Edge and Opera carry "Chrome", Chrome carries "Safari".
//! Product names stay as they are in every language; only "unknown" is
//! translated.

use crate::i18n::tr;

pub fn browser(ua: &str) -> String {
    let pick = |key: &str| -> Option<String> {
        let i = ua.find(key)?;
        let ver: String = ua[i + key.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        Some(ver)
    };
    let named = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("MSIE ", "Internet Explorer"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
    ];
    for (key, name) in named {
        if let Some(v) = pick(key) {
            return format!("{name} {v}");
        }
    }
    if ua.contains("Trident/") {
        return "Internet Explorer 11".into();
    }
    if ua.contains("Safari/") {
        return match pick("Version/") {
            Some(v) => format!("Safari {v}"),
            None => "Safari".into(),
        };
    }
    tr("Unknown browser").into()
}

pub fn os(ua: &str) -> &'static str {
    if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        tr("Unknown OS")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(
            (browser(chrome).as_str(), os(chrome)),
            ("Chrome 131", "Linux")
        );
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0.1";
        assert_eq!((browser(edge).as_str(), os(edge)), ("Edge 120", "Windows"));
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!((browser(safari).as_str(), os(safari)), ("Safari 17", "iOS"));
        let ie8 = "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)";
        assert_eq!(browser(ie8), "Internet Explorer 8");
    }
}
