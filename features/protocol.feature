Feature: Protocol errors
  MQTT 5 makes a packet that breaks its property rules a protocol error: a property given twice (User
  Property aside), a property its packet may not carry, a value out of range, a DISCONNECT that makes an
  ephemeral session persistent. The namespace refuses the packet, with CONNACK 0x82 for a CONNECT, closes
  the connection, and keeps serving everyone else. Event Grid does not document the code: it is the
  project's reading of the MQTT 5 specification, marked inferred in the rule catalogue. MQTT 3.1.1 has no
  properties, so the rule is about MQTT 5 only.
  Subscription Identifiers are one of the MQTT 5 features Event Grid does not support: a server that does
  not announces it in its CONNACK, and a SUBSCRIBE carrying one is a protocol error it answers with
  DISCONNECT 0xA1; Event Grid documents neither, so both are the project's reading, marked inferred.
  Response Information and User Properties on CONNECT, SUBSCRIBE, PUBACK, AUTH and DISCONNECT are two more:
  Event Grid documents that a CONNACK carries no Response Information even when the CONNECT asks for it,
  and that a request carrying such User Properties fails; how it fails is the project's reading (0x83
  Implementation specific error, MQTT 5's code for a valid packet the server does not accept).
  A client need not wait for the CONNACK before it sends more packets (3.1.4): a packet that breaks a
  property rule in the same write as its CONNECT is judged after the CONNECT is, as if it came after
  the CONNACK.
  Sources: https://docs.oasis-open.org/mqtt/mqtt/v5.0/mqtt-v5.0.html (2.2.2.2, 3.1.4, 3.2.2.3.12, 3.2.2.3.15, 4.13)
           https://learn.microsoft.com/azure/event-grid/mqtt-support

  @M1
  Rule: a packet that breaks an MQTT 5 property rule is refused with Protocol Error, and the broker keeps serving

    @mqtt5
    Scenario: a CONNECT with the Session Expiry Interval twice is refused with 0x82; the same CONNECT with it once is then accepted
      When identity "alpha" connects with the Session Expiry Interval property given twice over MQTT 5
      Then the CONNECT is refused as a protocol error
      When identity "alpha" connects with the Session Expiry Interval property given once over MQTT 5
      Then that connection is accepted

    @mqtt5
    Scenario: a PUBLISH with a property twice in the same write as its CONNECT: the CONNECT is accepted, then the PUBLISH ends the connection
      When identity "alpha" connects and in the same write publishes with the Content Type property given twice over MQTT 5
      Then that connection is accepted
      And that connection is ended as a protocol error
      When identity "alpha" connects and in the same write publishes with the Content Type property given once over MQTT 5
      Then that connection is accepted
      And that connection stays open

  @M2
  Rule: Subscription Identifiers are not supported: the CONNACK says so, and a SUBSCRIBE carrying one ends the connection

    @mqtt5
    Scenario: the CONNACK says Subscription Identifiers are not available; a SUBSCRIBE with one ends the connection with 0xA1, one without is granted
      Given identity "alpha" holds session "s1" over MQTT 5
      Then the CONNACK of session "s1" says Subscription Identifiers are not available
      And session "s1" subscribing at QoS 1 is granted QoS 1
      And session "s1" subscribing with a Subscription Identifier ends its connection with Subscription Identifiers not supported

  @M4
  Rule: Response Information is not given, even to a CONNECT that asks for it

    @mqtt5
    Scenario: a CONNECT with Request Response Information 1 is accepted, and its CONNACK carries no Response Information
      When identity "alpha" connects with session "s1" asking for Response Information over MQTT 5
      Then the CONNACK carries no responseInformation

  @M5
  Rule: User Properties on a CONNECT, SUBSCRIBE or PUBACK are not supported: the request fails

    @mqtt5
    Scenario: a CONNECT carrying User Properties is refused with 0x83; the same CONNECT without them is accepted
      When identity "alpha" connects with session "s1" carrying User Properties over MQTT 5
      Then the CONNECT is refused as not supported

    @mqtt5
    Scenario: a SUBSCRIBE carrying User Properties is refused with SUBACK 0x83; the same SUBSCRIBE without them is granted
      Given identity "alpha" holds session "s1" over MQTT 5
      Then session "s1" subscribing with User Properties is refused as not supported, and without them is granted

    @mqtt5
    Scenario: a PUBACK carrying User Properties ends the connection with DISCONNECT 0x83; one without them keeps it
      When identity "alpha" connects with session "s1" allowing 10 unacknowledged messages over MQTT 5
      And 2 QoS 1 messages are published to that connection
      Then acknowledging the first without User Properties keeps the connection, and the second with them ends it
