Feature: Multiple sessions for one client identity
  In an Event Grid namespace the CONNECT Username carries the client's authentication name and the
  ClientID is the session name, so one identity can hold several sessions at once.
  Source: https://learn.microsoft.com/azure/event-grid/mqtt-establishing-multiple-sessions-per-client

  # Under every authentication method: with one certificate (S2), one token of the set's issuer (T1),
  # one password the test webhook allows (W1), one Entra ID token (E1); S2 is the certificate's alone
  # (rules/catalogue.ts says why it is not observed under the others).
  @S1
  Rule: one identity may hold several sessions under different ClientIDs, with one credential

    @needs-two-sessions
    Scenario Outline: an identity opens two sessions at once
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "alpha" connects with session "s2"
      Then the connection is accepted
      And identity "alpha" is still connected on session "s1" and still receives QoS 1 messages
      And session "s2" receives QoS 1 messages too

      @mqtt3 @S2
      Examples: X.509
        | version |
        | 3.1.1   |
      @mqtt5 @S2
      Examples: X.509
        | version |
        | 5       |
      @mqtt5 @custom-jwt @T1
      Examples: CUSTOM-JWT
        | version |
        | 5       |
      @mqtt3 @webhook @W1
      Examples: webhook
        | version |
        | 3.1.1   |
      @mqtt5 @webhook @W1
      Examples: webhook
        | version |
        | 5       |
      @mqtt5 @oauth2-jwt @E1
      Examples: OAUTH2-JWT
        | version |
        | 5       |

    @needs-two-sessions @S2
    Scenario Outline: the seed page's example: "ipv4=127.0.0.1" opens sessionId1 and sessionId2 with one certificate
      Given identity "seed-ipv4" holds session "sessionId1" over MQTT <version>
      When identity "seed-ipv4" connects with session "sessionId2"
      Then the connection is accepted
      And identity "seed-ipv4" is still connected on session "sessionId1" and still receives QoS 1 messages
      And session "sessionId2" receives QoS 1 messages too

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @S3
  Rule: without a Username the ClientID is the authentication name, so there is only one session

    @needs-no-alternative-name-sources
    Scenario Outline: an identity without a Username can use only its own name as session name
      When identity "alpha" connects without a Username with session named as its authentication name over MQTT <version>
      Then the connection is accepted
      When that connection disconnects
      And identity "alpha" connects without a Username with session "other"
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |
