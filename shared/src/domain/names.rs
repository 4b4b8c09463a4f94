//! Values known by one fixed name: the name the APIs show and storage keeps.

/// An enum whose every variant has one fixed name. Writes the enum with
/// `ALL` (the variants in the order declared), `as_str` (the name),
/// `from_name` (the variant a name names) and `Display` (the name). Each
/// enum writes its own `parse`, because what a caller is told about a name
/// it does not know differs from value to value.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$variant_meta])* $variant, )+
        }

        impl $name {
            pub const ALL: [Self; [$($text),+].len()] = [$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// `as_str` and `Display` for a checked text value (`struct $name(String)`),
/// which shows exactly the text it was made from.
macro_rules! shown_as_text {
    ($($name:ident),+ $(,)?) => {
        $(
            impl $name {
                pub fn as_str(&self) -> &str {
                    &self.0
                }
            }

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.0)
                }
            }
        )+
    };
}

pub(crate) use {named_enum, shown_as_text};
