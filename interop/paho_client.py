#!/usr/bin/env python3
"""One Eclipse Paho client session against a broker over mutual TLS, for interop/paho.test.ts.

    python3 paho_client.py sub --port P [--transport tcp|websockets [--path /mqtt]] --ca CA --cert CHAIN --key KEY --username NAME --id SESSION
                               [--version 5|311] [--clean 0|1] [--expiry S] [--topic FILTER]... [--qos Q]
                               [--count N] [--wait S] [--end disconnect|drop]
                               [--will-topic T --will-payload P --will-qos Q --will-retain --will-delay S]
    python3 paho_client.py pub ...the same connection flags... --topic T --message M [--message M]...
                               [--qos Q] [--retain] [--user-property K=V]...

Prints one JSON object a line of what it observed, flushed as it happens:
  {"event": "connack", "reasonCode": 0, "sessionPresent": false, "properties": {...}}
  {"event": "suback", "reasonCodes": [1]}
  {"event": "puback", "mid": 1}                          (paho does not report a PUBACK's reason code)
  {"event": "message", "topic": "...", "payload": "...", "qos": 1, "dup": false, "retain": false, "properties": {...}}
  {"event": "disconnect", "reasonCode": 142, "properties": {...}}   (a DISCONNECT from the server, MQTT 5)
  {"event": "connectionLost", "error": "..."}                         (closed with no DISCONNECT)
  {"event": "disconnectPacket", "reasonCode": 142, "remainingLength": 1}  (any DISCONNECT as received)
  {"event": "clientError", "error": "..."}   (paho raised on what it received; the session ends there)
  {"event": "end", "reason": "count" | "subscribed" | "connected" | "published" | "timeout" | "disconnected" | "refused" | "clientError"}
--transport websockets speaks MQTT over WebSockets (wss://HOST:PORT/PATH) on the same TLS.
`sub` ends after --count messages (with no --count: once subscribed, or connected when there is no
--topic), after --wait seconds, or when the server ends the connection; `pub` once every QoS 1 message is acknowledged. --end drop closes the socket without DISCONNECT (so that
the broker publishes the will). Works with paho-mqtt 1.6 (Debian 12) and, through its first callback
API, 2.x.
"""
import argparse
import json
import os
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PAHO_2 = hasattr(mqtt, "CallbackAPIVersion")


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def code(value):
    """A reason code as a number: paho gives ints (3.1.1), ReasonCodes (1.6) or ReasonCode (2.x)."""
    if value is None:
        return None
    return value if isinstance(value, int) else value.value


def props(properties):
    if properties is None or properties.isEmpty():
        return {}
    return {name: (list(map(list, value)) if name == "UserProperty" else value) for name, value in properties.json().items()}


class Client(mqtt.Client):
    """paho's client, also reporting each DISCONNECT packet as it came: paho drops the Reason Code of a
    DISCONNECT whose Remaining Length is 1 or 2 (github.com/eclipse-paho/paho.mqtt.python/issues/860)
    and reports the connection as lost instead."""

    def _handle_disconnect(self):
        try:
            body = bytes(self._in_packet["packet"])
            emit("disconnectPacket", reasonCode=body[0] if body else 0, remainingLength=len(body))
        except Exception as error:  # paho's internals changed: say so rather than guess
            emit("disconnectPacket", error=str(error))
        return super()._handle_disconnect()


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["sub", "pub"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--transport", choices=["tcp", "websockets"], default="tcp")
    parser.add_argument("--path", default="/mqtt")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--version", choices=["5", "311"], default="5")
    parser.add_argument("--clean", type=int, choices=[0, 1], default=1)
    parser.add_argument("--expiry", type=int)
    parser.add_argument("--topic", action="append", default=[])
    parser.add_argument("--qos", type=int, default=1)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--wait", type=float, default=5.0)
    parser.add_argument("--end", choices=["disconnect", "drop"], default="disconnect")
    parser.add_argument("--message", action="append", default=[])
    parser.add_argument("--retain", action="store_true")
    parser.add_argument("--user-property", action="append", default=[])
    parser.add_argument("--will-topic")
    parser.add_argument("--will-payload", default="")
    parser.add_argument("--will-qos", type=int, default=0)
    parser.add_argument("--will-retain", action="store_true")
    parser.add_argument("--will-delay", type=int)
    return parser.parse_args()


def main():
    args = parse_args()
    v5 = args.version == "5"
    protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
    clean = bool(args.clean)
    # paho 2.x: its first callback API, that of 1.6. (The second reports MQTT 3.1.1 CONNACK return
    # codes as MQTT 5 reason codes, 5 as 0x87: this script reports what came.)
    version_one = (mqtt.CallbackAPIVersion.VERSION1,) if PAHO_2 else ()
    client = Client(*version_one, client_id=args.id, protocol=protocol, clean_session=None if v5 else clean, transport=args.transport)
    if args.transport == "websockets":
        # MQTT over WebSockets at wss://HOST:PORT/PATH; paho offers the subprotocol "mqtt".
        client.ws_set_options(path=args.path)
    client.tls_set(ca_certs=args.ca, certfile=args.cert, keyfile=args.key)
    client.username_pw_set(args.username)
    if args.will_topic:
        will_properties = None
        if v5 and args.will_delay is not None:
            will_properties = Properties(PacketTypes.WILLMESSAGE)
            will_properties.WillDelayInterval = args.will_delay
        client.will_set(args.will_topic, args.will_payload, args.will_qos, args.will_retain, properties=will_properties)

    state = {"connected": False, "done": None, "messages": 0, "pending": set(), "sent": False, "ending": False}

    def on_connect(_client, _userdata, flags, reason, properties=None):
        emit("connack", reasonCode=code(reason), sessionPresent=bool(flags.get("session present")), properties=props(properties))
        if code(reason) != 0:
            state["done"] = "refused"
            return
        state["connected"] = True
        if args.command == "sub" and args.topic:
            client.subscribe([(topic, args.qos) for topic in args.topic])
        elif args.command == "pub":
            publish_all()

    def publish_all():
        publish_properties = None
        if v5 and args.user_property:
            publish_properties = Properties(PacketTypes.PUBLISH)
            publish_properties.UserProperty = [tuple(pair.split("=", 1)) for pair in args.user_property]
        for topic in args.topic:
            for message in args.message:
                info = client.publish(topic, message, args.qos, args.retain, properties=publish_properties)
                if args.qos > 0:
                    state["pending"].add(info.mid)
        state["sent"] = True

    def on_subscribe(_client, _userdata, _mid, granted, properties=None):
        emit("suback", reasonCodes=[code(value) for value in granted])
        if not args.count:
            state["done"] = "subscribed"

    def on_publish(_client, _userdata, mid):
        emit("puback", mid=mid)
        state["pending"].discard(mid)

    def on_message(_client, _userdata, message):
        emit(
            "message",
            topic=message.topic,
            payload=message.payload.decode("utf-8", "replace"),
            qos=message.qos,
            dup=bool(message.dup),
            retain=bool(message.retain),
            properties=props(getattr(message, "properties", None)),
        )
        state["messages"] += 1
        if args.count and state["messages"] >= args.count:
            state["done"] = "count"

    def on_disconnect(_client, _userdata, *rest):
        # (rc) for 3.1.1, (rc, properties) for 5; rc an int (an error of paho's) unless a DISCONNECT came.
        if state["ending"] or state["done"] == "refused":
            return
        reason, properties = rest[0], (rest[1] if len(rest) > 1 else None)
        from_server = not isinstance(reason, int)
        if from_server:
            emit("disconnect", reasonCode=code(reason), properties=props(properties))
        else:
            emit("connectionLost", error=mqtt.error_string(reason) if isinstance(reason, int) else str(reason))
        state["done"] = state["done"] or "disconnected"

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_publish = on_publish
    client.on_message = on_message
    client.on_disconnect = on_disconnect

    connect_properties = None
    if v5:
        connect_properties = Properties(PacketTypes.CONNECT)
        if args.expiry is not None:
            connect_properties.SessionExpiryInterval = args.expiry
    try:
        if v5:
            client.connect(args.host, args.port, keepalive=60, clean_start=clean, properties=connect_properties)
        else:
            client.connect(args.host, args.port, keepalive=60)
    except Exception as error:  # TLS or TCP failure: no CONNACK
        emit("connectionLost", error=str(error))
        emit("end", reason="disconnected")
        return 1

    deadline = time.monotonic() + args.wait
    while state["done"] is None and time.monotonic() < deadline:
        try:
            client.loop(timeout=0.05)
        except Exception as error:  # paho could not handle what it received
            emit("clientError", error=f"{type(error).__name__}: {error}")
            state["done"] = "clientError"
            break
        if args.command == "pub" and state["sent"] and not state["pending"]:
            state["done"] = "published"
        if args.command == "sub" and not args.topic and not args.count and state["connected"]:
            state["done"] = "connected"
    reason = state["done"] or "timeout"
    emit("end", reason=reason)
    if args.end == "drop":
        # No DISCONNECT: the process ends and the kernel closes the socket.
        sys.stdout.flush()
        os._exit(0)
    if reason not in ("disconnected", "refused", "clientError"):
        state["ending"] = True
        client.disconnect()
        client.loop(timeout=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
