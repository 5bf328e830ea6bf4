//! An agent's picture, or their initials on a colour of their own when
//! they have none (or it cannot be loaded).

use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct AvatarProps {
    pub name: String,
    /// `/v1/avatars/{agent}?v=…` as the relay gives it.
    #[prop_or_default]
    pub url: Option<String>,
    /// The session token, added to the URL (an `<img>` sends no header).
    #[prop_or_default]
    pub token: Option<String>,
    /// `sm` (messages, lists) or `lg` (the profile form).
    #[prop_or_default]
    pub size: Option<&'static str>,
}

/// Up to two initials: of the first and the last word.
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let first = |w: &str| w.chars().next().map(|c| c.to_uppercase().to_string());
    match words.as_slice() {
        [] => "?".into(),
        [one] => first(one).unwrap_or_default(),
        [a, .., b] => format!(
            "{}{}",
            first(a).unwrap_or_default(),
            first(b).unwrap_or_default()
        ),
    }
}

/// A hue from the name, so each colleague keeps one colour.
fn hue(name: &str) -> u32 {
    name.bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 360
}

#[function_component]
pub fn Avatar(p: &AvatarProps) -> Html {
    let failed = use_state(|| false);
    let class = classes!("avatar", p.size.unwrap_or("sm"));
    match (&p.url, &p.token) {
        (Some(url), Some(token)) if !*failed => {
            let src = format!(
                "{url}&token={}",
                String::from(js_sys::encode_uri_component(token))
            );
            let onerror = {
                let failed = failed.clone();
                Callback::from(move |_: Event| failed.set(true))
            };
            html! { <img {class} {src} alt={p.name.clone()} {onerror} data-avatar="img" /> }
        }
        _ => {
            let style = format!("background:hsl({},55%,45%)", hue(&p.name));
            html! {
                <span {class} {style} aria-hidden="true" data-avatar="initials">{ initials(&p.name) }</span>
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::initials;

    #[test]
    fn initials_of_first_and_last_word() {
        assert_eq!(initials("Ann Lee"), "AL");
        assert_eq!(initials("  ann  "), "A");
        assert_eq!(initials("Mary Ann Lee"), "ML");
        assert_eq!(initials("王小明"), "王");
        assert_eq!(initials(""), "?");
    }
}
