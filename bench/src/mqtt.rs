//! Just enough MQTT 3.1.1 over WebSocket for the benchmark's mosquitto
//! peer: CONNECT, SUBSCRIBE, PUBLISH (QoS 0/1), PUBACK, PINGREQ, and a
//! streaming decoder (a WebSocket message may hold several packets or part
//! of one).

/// A decoded packet: the fixed header's first byte and the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: u8,
    pub flags: u8,
    pub body: Vec<u8>,
}

fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    remaining_length(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// CONNECT with a client id; `clean` false keeps the session (QoS 1
/// messages queued while away).
pub fn connect(client_id: &str, clean: bool, keepalive_s: u16) -> Vec<u8> {
    let mut b = Vec::new();
    string("MQTT", &mut b);
    b.push(4);
    b.push(if clean { 0x02 } else { 0x00 });
    b.extend_from_slice(&keepalive_s.to_be_bytes());
    string(client_id, &mut b);
    packet(0x10, &b)
}

pub fn subscribe(id: u16, topic: &str, qos: u8) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    string(topic, &mut b);
    b.push(qos);
    packet(0x82, &b)
}

pub fn publish(topic: &str, qos: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    string(topic, &mut b);
    if qos > 0 {
        b.extend_from_slice(&id.to_be_bytes());
    }
    b.extend_from_slice(payload);
    packet(0x30 | (qos << 1), &b)
}

pub fn puback(id: u16) -> Vec<u8> {
    packet(0x40, &id.to_be_bytes())
}

pub fn pingreq() -> Vec<u8> {
    vec![0xC0, 0x00]
}

/// Bytes in, whole packets out.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, data: &[u8]) -> Vec<Packet> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            if self.buf.len() < 2 {
                break;
            }
            let (mut len, mut mult, mut i) = (0usize, 1usize, 1usize);
            let mut complete_header = false;
            while i < self.buf.len() && i <= 4 {
                let b = self.buf[i];
                len += (b & 0x7f) as usize * mult;
                mult *= 128;
                i += 1;
                if b & 0x80 == 0 {
                    complete_header = true;
                    break;
                }
            }
            if !complete_header || self.buf.len() < i + len {
                break;
            }
            let first = self.buf[0];
            let body = self.buf[i..i + len].to_vec();
            self.buf.drain(..i + len);
            out.push(Packet {
                kind: first >> 4,
                flags: first & 0x0f,
                body,
            });
        }
        out
    }
}

/// A received PUBLISH: (topic, packet id if QoS 1, payload).
pub fn parse_publish(p: &Packet) -> Option<(String, Option<u16>, Vec<u8>)> {
    if p.kind != 3 || p.body.len() < 2 {
        return None;
    }
    let tl = u16::from_be_bytes([p.body[0], p.body[1]]) as usize;
    let topic = String::from_utf8(p.body.get(2..2 + tl)?.to_vec()).ok()?;
    let mut rest = 2 + tl;
    let qos = (p.flags >> 1) & 3;
    let id = if qos > 0 {
        let id = u16::from_be_bytes([*p.body.get(rest)?, *p.body.get(rest + 1)?]);
        rest += 2;
        Some(id)
    } else {
        None
    };
    Some((topic, id, p.body.get(rest..)?.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_through_the_decoder_in_pieces() {
        let big = vec![b'x'; 300]; // a two-byte remaining length
        let mut stream = publish("c/1/v", 1, 7, &big);
        stream.extend(puback(7));
        stream.extend(pingreq());
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for chunk in stream.chunks(5) {
            got.extend(d.push(chunk));
        }
        assert_eq!(got.len(), 3);
        let (topic, id, payload) = parse_publish(&got[0]).expect("publish");
        assert_eq!((topic.as_str(), id, payload.len()), ("c/1/v", Some(7), 300));
        assert_eq!((got[1].kind, got[1].body.clone()), (4, vec![0, 7]));
        assert_eq!(got[2].kind, 12);
    }
}
