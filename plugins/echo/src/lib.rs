//! Echo and friends: one tool per WIT type mapping, so every mapping is exercised.

warden_sdk::tool!({ world: "echo", export: Echo });

/// The `echo` world's implementation.
struct Echo;

impl Guest for Echo {
    fn echo(message: String) -> String {
        message
    }

    fn integers(a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: u64, h: i64) -> IntegerSet {
        IntegerSet {
            a,
            b,
            c,
            d,
            e,
            f,
            g,
            h,
        }
    }

    fn scalars(x: f32, y: f64, flag: bool, letter: char) -> (f32, f64, bool, char) {
        (x, y, flag, letter)
    }

    fn greet(person: Person) -> Greeting {
        Greeting {
            message: format!("Hello, {}!", person.name),
            email: person.email,
            perms: person.perms,
            favourite: person.favourite,
        }
    }

    fn maybe_double(value: Option<i32>) -> Option<i32> {
        value.map(|v| v.wrapping_mul(2))
    }

    fn area(shape: Shape) -> f64 {
        match shape {
            Shape::Circle(radius) => std::f64::consts::PI * radius * radius,
            Shape::Square(side) => side * side,
            Shape::Point => 0.0,
        }
    }

    fn divide(numerator: i32, denominator: i32) -> Result<i32, String> {
        if denominator == 0 {
            return Err("division by zero".to_string());
        }
        numerator
            .checked_div(denominator)
            .ok_or_else(|| format!("{numerator} / {denominator} overflows s32"))
    }

    fn pairs(items: Vec<(String, u32)>) -> Vec<String> {
        items
            .into_iter()
            .map(|(name, count)| format!("{name}={count}"))
            .collect()
    }

    fn classify(value: i32) -> Sign {
        match value {
            0 => Sign::Zero,
            v if v < 0 => Sign::Negative(v.unsigned_abs()),
            v => Sign::Positive(v.unsigned_abs()),
        }
    }

    fn ping() {}
}
