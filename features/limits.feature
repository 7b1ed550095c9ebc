Feature: Event Grid's limits
  The limits Event Grid documents for sessions, names, subscriptions, topics and connections, each
  tested at the limit (accepted) and just past it (refused, or the session or connection ended).
  Where the docs do not say what a client sees past a limit, the expected code is the project's
  reading, marked inferred in the rule catalogue (rules/catalogue.ts, rules/limits.ts).
  Sources: https://learn.microsoft.com/azure/event-grid/quotas-limits
           https://learn.microsoft.com/azure/event-grid/mqtt-support
           https://learn.microsoft.com/azure/event-grid/mqtt-client-life-cycle-events
           https://learn.microsoft.com/azure/event-grid/mqtt-retain

  @L5
  Rule: a ClientID (session name) is at most 128 characters

    Scenario Outline: a ClientID of <length> characters is refused, one of 128 is accepted
      When identity "alpha" connects with a ClientID of <length> characters over MQTT <version>
      Then the connection is refused as an invalid ClientID
      When identity "alpha" connects with a ClientID of 128 characters over MQTT <version>
      Then the connection is accepted

      @mqtt3
      Examples:
        | version | length |
        | 3.1.1 | 129 |
        | 3.1.1 | 1000 |
        | 3.1.1 | 65535 |
      @mqtt5
      Examples:
        | version | length |
        | 5 | 129 |
        | 5 | 1000 |
        | 5 | 65535 |

  @L6
  Rule: a Username (authentication name) is at most 128 characters
    Identity "long-name" is registered with the longest authentication name, 128 characters; it presents
    that name with one character more. Its control, the same CONNECT with its own name, is accepted, so
    the refusal is for the length: a broker that cuts a Username to 128 characters lets it in.

    Scenario Outline: a Username of 129 characters is refused, not cut to the registered 128-character name it starts with
      When identity "long-name" connects with its Username and one more character and session "l6" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @L7
  Rule: names that are not well-formed UTF-8, or hold U+0000, are refused, never decoded lossily

    Scenario Outline: a ClientID ending in bytes <bad> is refused; ending in <good> instead, it is accepted
      When identity "alpha" connects with a ClientID ending in bytes "<bad>" over MQTT <version>
      Then the CONNECT is refused as malformed
      When identity "alpha" connects with a ClientID ending in bytes "<good>" over MQTT <version>
      Then that connection is accepted

      @mqtt3
      Examples:
        | version | bad | good |
        | 3.1.1 | ff | c3bf |
        | 3.1.1 | fe | c3be |
        | 3.1.1 | 00 | 30 |
        | 3.1.1 | eda080 | ed9fbf |
        | 3.1.1 | c0af | 2f |
      @mqtt5
      Examples:
        | version | bad | good |
        | 5 | ff | c3bf |
        | 5 | fe | c3be |
        | 5 | 00 | 30 |
        | 5 | eda080 | ed9fbf |
        | 5 | c0af | 2f |

    Scenario Outline: a Username followed by bytes <bad> is refused as malformed, not as an unknown client
      When identity "alpha" connects with its Username followed by bytes "<bad>" over MQTT <version>
      Then the CONNECT is refused as malformed
      When identity "alpha" connects with its Username followed by bytes "" over MQTT <version>
      Then that connection is accepted

      @mqtt3
      Examples:
        | version | bad |
        | 3.1.1 | ff |
        | 3.1.1 | 00 |
      @mqtt5
      Examples:
        | version | bad |
        | 5 | ff |
        | 5 | 00 |

  @L8
  Rule: an offline session's queue holds at most 100 QoS 1 messages or 1 MB; past that the session ends

    Scenario Outline: <messages> queued are all delivered when the owner comes back
      Given identity "alpha" holds session "s1" over MQTT <version>
      And session "s1" disconnects
      And <messages> are published to session "s1"
      When identity "alpha" connects with session "s1"
      Then the connection is accepted resuming its session
      And session "s1" receives <count> messages

      @mqtt3
      Examples:
        | version | count | messages                        |
        | 3.1.1 | 100 | 100 QoS 1 messages              |
        | 3.1.1 | 9 | 9 QoS 1 messages of 100 KiB     |
      @mqtt5
      Examples:
        | version | count | messages                        |
        | 5 | 100 | 100 QoS 1 messages              |
        | 5 | 9 | 9 QoS 1 messages of 100 KiB     |

    Scenario Outline: <messages> queued overflow the queue: the owner finds its session gone
      Given identity "alpha" holds session "s1" over MQTT <version>
      And session "s1" disconnects
      And <messages> are published to session "s1"
      When identity "alpha" connects with session "s1"
      Then the connection is accepted as a new session
      And session "s1" does not receive "message 1"

      @mqtt3
      Examples:
        | version | messages                         |
        | 3.1.1 | 101 QoS 1 messages               |
        | 3.1.1 | 11 QoS 1 messages of 100 KiB     |
      @mqtt5
      Examples:
        | version | messages                         |
        | 5 | 101 QoS 1 messages               |
        | 5 | 11 QoS 1 messages of 100 KiB     |

  @L9
  Rule: the maximum QoS is 1

    @mqtt5
    Scenario: the CONNACK says the maximum QoS is 1
      When identity "alpha" connects with session "s1" over MQTT 5
      Then the CONNACK carries maximumQoS 1

    Scenario Outline: a QoS 2 subscription is granted QoS 1, as a QoS 1 subscription is
      Given identity "alpha" holds session "s1" over MQTT <version>
      Then session "s1" subscribing at QoS 2 is granted QoS 1
      And session "s1" subscribing at QoS 1 is granted QoS 1

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    Scenario Outline: a QoS 2 PUBLISH ends the connection that a QoS 1 PUBLISH does not
      Given identity "alpha" holds session "s1" over MQTT <version>
      Then session "s1" publishing at QoS 1 to the inbox is acknowledged
      And session "s1" publishing at QoS 2 ends its connection

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    # A Will is a PUBLISH the client leaves with the namespace: MQTT 5 refuses a CONNECT whose Will asks
    # more than the Maximum QoS [MQTT-3.2.2-12]; MQTT 3.1.1 has no code for it, and no subscription is
    # granted more than QoS 1, so its will is accepted and published at QoS 1 (inferred).
    @mqtt5
    Scenario: a CONNECT with a QoS 2 will is refused as QoS not supported; with a QoS 1 will it is accepted
      When identity "alpha" connects with session "s1" and a QoS 2 will over MQTT 5
      Then the connection is refused as QoS not supported

    @mqtt3 @needs-two-sessions
    Scenario: a QoS 2 will over MQTT 3.1.1 is accepted and published at QoS 1, even to a subscription that asked QoS 2
      Given identity "alpha" holds session "watcher" over MQTT 3.1.1
      When identity "alpha" connects with session "s1" and a QoS 2 will on the topic of session "watcher" over MQTT 3.1.1
      Then the connection is accepted
      When session "watcher" subscribes at QoS 2 to the will topic of session "s1"
      Then the subscription is granted
      When the connection of session "s1" drops without a DISCONNECT
      Then session "watcher" receives the will of session "s1" at QoS 1

  @L10
  Rule: a session holds at most 50 subscriptions

    Scenario Outline: the 51st subscription is refused; the first 50, and a repeat, are granted
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" subscribes to 49 more topic filters
      Then session "s1" subscribing to one more topic filter is refused as over quota
      And session "s1" subscribing again to a topic filter it holds is granted

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @L11
  Rule: topics and topic filters are at most 256 bytes and 15 levels

    Scenario Outline: a topic filter of <past> <unit> is refused, one of <limit> <unit> granted
      Given identity "alpha" holds session "s1" over MQTT <version>
      Then session "s1" subscribing to a topic filter of <past> <unit> is refused as invalid
      And session "s1" subscribing to a topic filter of <limit> <unit> is granted

      @mqtt3
      Examples:
        | version | limit | past | unit |
        | 3.1.1 | 256 | 257 | bytes |
        | 3.1.1 | 15 | 16 | levels |
      @mqtt5
      Examples:
        | version | limit | past | unit |
        | 5 | 256 | 257 | bytes |
        | 5 | 15 | 16 | levels |

    Scenario Outline: a PUBLISH to a topic of <past> <unit> ends the connection, one to <limit> <unit> is acknowledged
      Given identity "alpha" holds session "s1" over MQTT <version>
      Then session "s1" publishing at QoS 1 to a topic of <limit> <unit> is acknowledged
      And session "s1" publishing to a topic of <past> <unit> ends its connection

      @mqtt3
      Examples:
        | version | limit | past | unit |
        | 3.1.1 | 256 | 257 | bytes |
        | 3.1.1 | 15 | 16 | levels |
      @mqtt5
      Examples:
        | version | limit | past | unit |
        | 5 | 256 | 257 | bytes |
        | 5 | 15 | 16 | levels |

  @L12
  Rule: retained messages are kept for later subscribers (supported since 2025)

    Scenario Outline: a retained message reaches a subscription made after it was published
      Given identity "alpha" holds session "s1" over MQTT <version>
      Then a retained message published by session "s1" reaches its later subscription

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @L18
  Rule: a retained message is at most 64 KB: a larger retained PUBLISH is refused and not kept
    The retain page gives 64 KB as the most a retained message may be, and says no more: that a larger
    one is refused (MQTT 5 PUBACK 0x97 Quota exceeded; MQTT 3.1.1 has no negative PUBACK) and the
    retained message from before stays is the project's reading.

    Scenario Outline: a retained message of 65536 bytes is kept; one of 65537 bytes to the same topic is refused, and a later subscriber gets the first
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" publishes a retained message of 65536 bytes, then one of 65537 bytes to the same topic
      Then the retained message of 65537 bytes is refused as over quota
      And a later subscription of identity "alpha" to the topic of session "s1" gets the retained message of 65536 bytes

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @L13
  Rule: a Keep Alive above 1,160 seconds is lowered, and the CONNACK says so

    @mqtt5
    Scenario Outline: asking for <asked> s gets a Server Keep Alive of 1160; asking for 1160 keeps it
      When identity "alpha" connects with session "s1" asking for a Keep Alive of <asked> seconds over MQTT 5
      Then the CONNACK carries serverKeepAlive 1160
      When identity "beta" connects with session "s2" asking for a Keep Alive of 1160 seconds over MQTT 5
      Then the CONNACK carries no serverKeepAlive

      Examples:
        | asked |
        | 1161  |
        | 65535 |

  @L14
  Rule: a connection silent for one and a half times its Keep Alive is closed

    Scenario Outline: a silent connection is closed after 1.5 s; one that pings beside it stays open
      When identity "alpha" connects with session "pinger" and a Keep Alive of 1 second over MQTT <version>
      And that connection sends PINGREQ every half Keep Alive
      And identity "alpha" connects with session "silent" and a Keep Alive of 1 second over MQTT <version>
      Then the connection stays silent and is closed after one and a half Keep Alives
      And the connection that pings is still open a Keep Alive later

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @L15
  Rule: packets are at most 512 KiB: the CONNACK announces it, and a larger packet ends the connection

    @mqtt5
    Scenario: an MQTT 5 CONNACK carries Maximum Packet Size 524288
      When identity "alpha" connects with session "s1" over MQTT 5
      Then the CONNACK announces Event Grid's Maximum Packet Size

    Scenario Outline: a PUBLISH of 524288 bytes is acknowledged; one of 524289 bytes ends the connection
      Given identity "alpha" holds session "s1" over MQTT <version>
      Then session "s1" publishing a packet of 524288 bytes is acknowledged
      And session "s1" publishing a packet of 524289 bytes ends its connection

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @L16
  Rule: the client's flow control is kept: its Maximum Packet Size and its Receive Maximum
    Event Grid documents MQTT 5 flow control: the client's CONNECT sets the largest packet it can take
    and how many QoS 1 messages it can have unacknowledged at once. MQTT 5 has the server discard a
    PUBLISH too large for the client as if it had been delivered, and hold back the messages past the
    Receive Maximum until PUBACKs come; none is lost.

    @mqtt5
    Scenario: a client that accepts packets of at most 1024 bytes is not sent a message of 2000 bytes; one of 100 bytes after it arrives
      Given identity "alpha" holds session "s1" accepting packets of at most 1024 bytes over MQTT 5
      When a QoS 1 message of 2000 bytes and then one of 100 bytes are published to session "s1"
      Then session "s1" receives only the message of 100 bytes and is still connected

    @mqtt5
    Scenario: a client that allows 2 unacknowledged messages is sent 2 of 5 until it acknowledges, then the others one by one
      When identity "alpha" connects with session "s1" allowing 2 unacknowledged messages over MQTT 5
      And 5 QoS 1 messages are published to that connection
      Then that connection is sent 2 of them while it acknowledges none
      And acknowledging each, it is sent all 5

  @L17
  Rule: Topic Alias Maximum is 10

    @mqtt5
    Scenario: the CONNACK announces Topic Alias Maximum 10; alias 10 is taken, alias 11 ends the connection
      When identity "alpha" connects with session "s1" over MQTT 5
      Then the CONNACK carries topicAliasMaximum 10
      And session "s1" publishing to its own topic with Topic Alias 10, then with the alias alone, receives both
      And session "s1" publishing with Topic Alias 11 ends its connection
