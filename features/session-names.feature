Feature: Session names
  A session name (ClientID) must not be empty, and is unique across the whole namespace: while one
  identity holds it, connected or not, no other identity can use it, whichever way each authenticates
  (the Examples of each method: a token of the set's issuer, the test webhook, an Entra ID token).
  Sources: https://learn.microsoft.com/azure/event-grid/mqtt-establishing-multiple-sessions-per-client
           https://learn.microsoft.com/azure/event-grid/mqtt-support

  @S4
  Rule: the ClientID can't be empty (MQTT 3.1.1); over MQTT 5 it is refused, or named by the namespace (Assigned Client Identifier)

    Scenario Outline: a CONNECT with an empty ClientID over MQTT <version> is <outcome>
      When identity "alpha" connects with an empty session name over MQTT <version>
      Then the connection is <outcome>

      @mqtt3
      Examples: X.509
        | version | outcome                                          |
        | 3.1.1   | refused                                          |
      @mqtt5
      Examples: X.509
        | version | outcome                                          |
        | 5       | refused, or given an Assigned Client Identifier  |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version | outcome                                          |
        | 5       | refused, or given an Assigned Client Identifier  |
      @mqtt3 @webhook
      Examples: webhook
        | version | outcome                                          |
        | 3.1.1   | refused                                          |
      @mqtt5 @webhook
      Examples: webhook
        | version | outcome                                          |
        | 5       | refused, or given an Assigned Client Identifier  |

    Scenario Outline: a CONNECT with an empty ClientID and Clean Start 0 over MQTT <version> is <outcome>
      When identity "alpha" connects with an empty session name and Clean Start 0 over MQTT <version>
      Then the connection is <outcome>

      @mqtt3
      Examples: X.509
        | version | outcome                                          |
        | 3.1.1   | refused                                          |
      @mqtt5
      Examples: X.509
        | version | outcome                                          |
        | 5       | refused, or given an Assigned Client Identifier  |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version | outcome                                          |
        | 5       | refused, or given an Assigned Client Identifier  |
      @mqtt3 @webhook
      Examples: webhook
        | version | outcome                                          |
        | 3.1.1   | refused                                          |
      @mqtt5 @webhook
      Examples: webhook
        | version | outcome                                          |
        | 5       | refused, or given an Assigned Client Identifier  |

  @S5 @S6
  Rule: a new session name goes to one identity only: the others find it in use

    Scenario Outline: identities racing for one new session name: exactly one wins
      When identities "alpha", "beta" and "gamma" connect at once with session "contested" over MQTT <version>
      Then exactly one of them is accepted and the others are refused as not authorized

      @mqtt3
      Examples: X.509
        | version |
        | 3.1.1   |
      @mqtt5
      Examples: X.509
        | version |
        | 5       |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version |
        | 5       |
      @mqtt3 @webhook
      Examples: webhook
        | version |
        | 3.1.1   |
      @mqtt5 @webhook
      Examples: webhook
        | version |
        | 5       |
      @mqtt5 @oauth2-jwt
      Examples: OAUTH2-JWT
        | version |
        | 5       |

  @S5 @S6
  Rule: another identity presenting an active session's name is refused as not authorized

    Scenario Outline: a second identity cannot take over an active session, and the owner is undisturbed
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "beta" connects with session "s1"
      Then the connection is refused as not authorized
      And identity "alpha" is still connected on session "s1" and still receives QoS 1 messages

      @mqtt3
      Examples: X.509
        | version |
        | 3.1.1   |
      @mqtt5
      Examples: X.509
        | version |
        | 5       |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version |
        | 5       |
      @mqtt3 @webhook
      Examples: webhook
        | version |
        | 3.1.1   |
      @mqtt5 @webhook
      Examples: webhook
        | version |
        | 5       |
      @mqtt5 @oauth2-jwt
      Examples: OAUTH2-JWT
        | version |
        | 5       |

  @S5 @S7
  Rule: a session left without ending stays locked to its owner until it expires

    Scenario Outline: a held session's name is refused to another identity
      Given identity "alpha" holds session "s1" over MQTT <version>
      When the connection of session "s1" drops without a DISCONNECT
      And identity "gamma" connects with session "s1"
      Then the connection is refused as not authorized

      @mqtt3
      Examples: X.509
        | version |
        | 3.1.1   |
      @mqtt5
      Examples: X.509
        | version |
        | 5       |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version |
        | 5       |
      @mqtt3 @webhook
      Examples: webhook
        | version |
        | 3.1.1   |
      @mqtt5 @webhook
      Examples: webhook
        | version |
        | 5       |

    Scenario Outline: a session ended by a normal DISCONNECT is still held just before it expires
      Given identity "alpha" holds session "s1" over MQTT <version>
      And session "s1" disconnects
      When session "s1" has almost expired
      And identity "gamma" connects with session "s1"
      Then the connection is refused as not authorized

      @mqtt3 @slow
      Examples: X.509
        | version |
        | 3.1.1   |
      @mqtt5
      Examples: X.509
        | version |
        | 5       |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version |
        | 5       |
      @mqtt3 @webhook @slow
      Examples: webhook
        | version |
        | 3.1.1   |
      @mqtt5 @webhook
      Examples: webhook
        | version |
        | 5       |

    Scenario Outline: once the held session expires its name is free, with nothing of the old session
      Given identity "alpha" holds session "s1" over MQTT <version>
      And the connection of session "s1" drops without a DISCONNECT
      And a QoS 1 message "for alpha" is published to session "s1"
      When session "s1" expires
      And identity "gamma" connects with session "s1"
      Then the connection is accepted as a new session
      And session "s1" does not receive "for alpha"

      @mqtt3 @slow
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  # Intruders of every shape: Clean Start / Clean Session 0 and 1 (a broker may skip the ownership check
  # when the intruder asks for a fresh session), its own Username or that Username in upper case (the
  # same client, A4). The owner keeps its connection, or on coming back finds its session as it left it.
  @S5 @S6
  Rule: no intruder takes an active session, whatever its CONNECT asks for

    Scenario Outline: identity "beta" with Clean Start <clean> and <username> cannot take an active session
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "beta" connects with session "s1", Clean Start <clean> and <username>
      Then the connection is refused as not authorized
      And identity "alpha" is still connected on session "s1" and still receives QoS 1 messages

      @mqtt3
      Examples:
        | version | clean | username                   |
        | 3.1.1   | 1     | its own Username           |
      @mqtt3 @A4
      Examples:
        | version | clean | username                   |
        | 3.1.1   | 0     | its Username in upper case |
        | 3.1.1   | 1     | its Username in upper case |
      @mqtt5
      Examples:
        | version | clean | username                   |
        | 5       | 1     | its own Username           |
      @mqtt5 @A4
      Examples:
        | version | clean | username                   |
        | 5       | 0     | its Username in upper case |
        | 5       | 1     | its Username in upper case |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version | clean | username                   |
        | 5       | 1     | its own Username           |
      @mqtt3 @webhook
      Examples: webhook
        | version | clean | username                   |
        | 3.1.1   | 1     | its own Username           |
      @mqtt5 @webhook
      Examples: webhook
        | version | clean | username                   |
        | 5       | 1     | its own Username           |
      @mqtt5 @oauth2-jwt
      Examples: OAUTH2-JWT
        | version | clean | username                   |
        | 5       | 1     | its own Username           |

  @S5 @S7
  Rule: no intruder takes a held session before it expires, whatever its CONNECT asks for

    Scenario Outline: identity "beta" with Clean Start <clean> and <username> cannot take a held session, which its owner then resumes
      Given identity "alpha" holds session "s1" over MQTT <version>
      And the connection of session "s1" drops without a DISCONNECT
      And a QoS 1 message "kept" is published to session "s1"
      When identity "beta" connects with session "s1", Clean Start <clean> and <username>
      Then the connection is refused as not authorized
      When identity "alpha" connects with session "s1"
      Then the connection is accepted resuming its session
      And session "s1" receives "kept"

      @mqtt3
      Examples:
        | version | clean | username                   |
        | 3.1.1   | 0     | its own Username           |
        | 3.1.1   | 1     | its own Username           |
      @mqtt3 @A4
      Examples:
        | version | clean | username                   |
        | 3.1.1   | 0     | its Username in upper case |
        | 3.1.1   | 1     | its Username in upper case |
      @mqtt5
      Examples:
        | version | clean | username                   |
        | 5       | 0     | its own Username           |
        | 5       | 1     | its own Username           |
      @mqtt5 @A4
      Examples:
        | version | clean | username                   |
        | 5       | 0     | its Username in upper case |
        | 5       | 1     | its Username in upper case |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version | clean | username                   |
        | 5       | 0     | its own Username           |
        | 5       | 1     | its own Username           |
      @mqtt3 @webhook
      Examples: webhook
        | version | clean | username                   |
        | 3.1.1   | 0     | its own Username           |
        | 3.1.1   | 1     | its own Username           |
      @mqtt5 @webhook
      Examples: webhook
        | version | clean | username                   |
        | 5       | 0     | its own Username           |
        | 5       | 1     | its own Username           |

    Scenario Outline: once the held session expires, identity "beta" with Clean Start <clean> and <username> takes the name as a new session
      Given identity "alpha" holds session "s1" over MQTT <version>
      And the connection of session "s1" drops without a DISCONNECT
      When session "s1" expires
      And identity "beta" connects with session "s1", Clean Start <clean> and <username>
      Then the connection is accepted as a new session

      @mqtt3 @slow
      Examples:
        | version | clean | username                   |
        | 3.1.1   | 0     | its own Username           |
        | 3.1.1   | 1     | its own Username           |
      @mqtt3 @slow @A4
      Examples:
        | version | clean | username                   |
        | 3.1.1   | 0     | its Username in upper case |
        | 3.1.1   | 1     | its Username in upper case |
      @mqtt5 @slow
      Examples:
        | version | clean | username                   |
        | 5       | 0     | its own Username           |
        | 5       | 1     | its own Username           |
      @mqtt5 @slow @A4
      Examples:
        | version | clean | username                   |
        | 5       | 0     | its Username in upper case |
        | 5       | 1     | its Username in upper case |

  # With no Username, the authentication name comes from the certificate (on a namespace with
  # alternative name sources): an intruder named so is refused like one that gives its Username.
  @S5 @S6 @S7 @on-alternative-names-namespace
  Rule: no intruder without a Username, named by its certificate, takes another identity's session

    Scenario Outline: identity "beta" with no Username and Clean Start <clean> cannot take an active session
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "beta" connects with session "s1", Clean Start <clean> and no Username
      Then the connection is refused as not authorized
      And identity "alpha" is still connected on session "s1" and still receives QoS 1 messages

      @mqtt3
      Examples:
        | version | clean |
        | 3.1.1   | 0     |
        | 3.1.1   | 1     |
      @mqtt5
      Examples:
        | version | clean |
        | 5       | 0     |
        | 5       | 1     |

    Scenario Outline: identity "beta" with no Username and Clean Start <clean> cannot take a held session
      Given identity "alpha" holds session "s1" over MQTT <version>
      And the connection of session "s1" drops without a DISCONNECT
      When identity "beta" connects with session "s1", Clean Start <clean> and no Username
      Then the connection is refused as not authorized

      @mqtt3
      Examples:
        | version | clean |
        | 3.1.1   | 0     |
        | 3.1.1   | 1     |
      @mqtt5
      Examples:
        | version | clean |
        | 5       | 0     |
        | 5       | 1     |

    Scenario Outline: once the held session expires, identity "beta" with no Username and Clean Start <clean> takes the name as a new session
      Given identity "alpha" holds session "s1" over MQTT <version>
      And the connection of session "s1" drops without a DISCONNECT
      When session "s1" expires
      And identity "beta" connects with session "s1", Clean Start <clean> and no Username
      Then the connection is accepted as a new session

      @mqtt3 @slow
      Examples:
        | version | clean |
        | 3.1.1   | 0     |
        | 3.1.1   | 1     |
      @mqtt5 @slow
      Examples:
        | version | clean |
        | 5       | 0     |
        | 5       | 1     |

  # The owner's own name in other letter case is no intruder, whatever its CONNECT asks for: with its
  # Username in upper case, or with no Username and its case-variant certificate (CN=ALPHA, on the
  # namespace that reads names from certificates). Clean Start 0 resumes what it left, Clean Start 1
  # starts afresh; once the session has expired, either starts a new one (S7's too: the name is free
  # only once the expiry probe finds it so). (Taking over its active session: takeover.feature.)
  @A4
  Rule: the owner in another letter case comes back to its held session, or to its name once expired

    Scenario Outline: identity "<identity>" with Clean Start <clean> and <username> comes back to the held session of alpha: <outcome>
      Given identity "alpha" holds session "s1" over MQTT <version>
      And the connection of session "s1" drops without a DISCONNECT
      And a QoS 1 message "kept" is published to session "s1"
      When identity "<identity>" connects with session "s1", Clean Start <clean> and <username>
      Then the connection is accepted <outcome>
      And session "s1" <delivery> "kept"

      @mqtt3
      Examples:
        | version | identity    | clean | username                   | outcome                | delivery         |
        | 3.1.1   | alpha       | 0     | its Username in upper case | resuming its session   | receives         |
        | 3.1.1   | alpha       | 1     | its Username in upper case | as a new session       | does not receive |
      @mqtt3 @on-alternative-names-namespace
      Examples:
        | version | identity    | clean | username                   | outcome                | delivery         |
        | 3.1.1   | alpha-upper | 0     | no Username                | resuming its session   | receives         |
        | 3.1.1   | alpha-upper | 1     | no Username                | as a new session       | does not receive |
      @mqtt5
      Examples:
        | version | identity    | clean | username                   | outcome                | delivery         |
        | 5       | alpha       | 0     | its Username in upper case | resuming its session   | receives         |
        | 5       | alpha       | 1     | its Username in upper case | as a new session       | does not receive |
      @mqtt5 @on-alternative-names-namespace
      Examples:
        | version | identity    | clean | username                   | outcome                | delivery         |
        | 5       | alpha-upper | 0     | no Username                | resuming its session   | receives         |
        | 5       | alpha-upper | 1     | no Username                | as a new session       | does not receive |

    Scenario Outline: once the held session of alpha expires, identity "<identity>" with Clean Start <clean> and <username> takes the name as a new session
      Given identity "alpha" holds session "s1" over MQTT <version>
      And the connection of session "s1" drops without a DISCONNECT
      When session "s1" expires
      And identity "<identity>" connects with session "s1", Clean Start <clean> and <username>
      Then the connection is accepted as a new session

      @mqtt3 @slow @S7
      Examples:
        | version | identity    | clean | username                   |
        | 3.1.1   | alpha       | 0     | its Username in upper case |
        | 3.1.1   | alpha       | 1     | its Username in upper case |
      @mqtt3 @slow @S7 @on-alternative-names-namespace
      Examples:
        | version | identity    | clean | username                   |
        | 3.1.1   | alpha-upper | 0     | no Username                |
        | 3.1.1   | alpha-upper | 1     | no Username                |
      @mqtt5 @slow @S7
      Examples:
        | version | identity    | clean | username                   |
        | 5       | alpha       | 0     | its Username in upper case |
        | 5       | alpha       | 1     | its Username in upper case |
      @mqtt5 @slow @S7 @on-alternative-names-namespace
      Examples:
        | version | identity    | clean | username                   |
        | 5       | alpha-upper | 0     | no Username                |
        | 5       | alpha-upper | 1     | no Username                |
