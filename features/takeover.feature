Feature: Session takeover by its own identity
  The identity that owns a session can connect to it again: the new connection takes the session over
  and the older connection is ended, whichever way it authenticates (the Examples of each method).
  Sources: https://learn.microsoft.com/azure/event-grid/mqtt-support
           https://learn.microsoft.com/azure/event-grid/mqtt-client-life-cycle-events

  @S8
  Rule: the same identity reconnecting with its session name takes the session over

    Scenario Outline: a second connection of the owner takes over a persistent session
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "alpha" connects with session "s1"
      Then the connection is accepted resuming its session
      And the older connection of session "s1" is ended by <ending>
      And session "s1" receives QoS 1 messages too

      @mqtt3
      Examples: X.509
        | version | ending                  |
        | 3.1.1   | the connection closing  |
      @mqtt5
      Examples: X.509
        | version | ending                                      |
        | 5       | a DISCONNECT with 0x8E (Session taken over) |
      @mqtt5 @custom-jwt
      Examples: CUSTOM-JWT
        | version | ending                                      |
        | 5       | a DISCONNECT with 0x8E (Session taken over) |
      @mqtt3 @webhook
      Examples: webhook
        | version | ending                  |
        | 3.1.1   | the connection closing  |
      @mqtt5 @webhook
      Examples: webhook
        | version | ending                                      |
        | 5       | a DISCONNECT with 0x8E (Session taken over) |
      @mqtt5 @oauth2-jwt
      Examples: OAUTH2-JWT
        | version | ending                                      |
        | 5       | a DISCONNECT with 0x8E (Session taken over) |

    Scenario Outline: the owner's case-variant certificate is the same identity, and takes the session over
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "alpha-upper" connects with session "s1"
      Then the connection is accepted resuming its session
      And the older connection of session "s1" is ended by <ending>
      And identity "alpha-upper" is still connected on session "s1" and still receives QoS 1 messages

      @mqtt3 @A4
      Examples:
        | version | ending                  |
        | 3.1.1   | the connection closing  |
      @mqtt5 @A4
      Examples:
        | version | ending                                      |
        | 5       | a DISCONNECT with 0x8E (Session taken over) |

    Scenario Outline: the owner's Username in other letter case is the same identity, and takes the session over
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "alpha" connects with Username "Alpha" and session "s1"
      Then the connection is accepted resuming its session
      And the older connection of session "s1" is ended by <ending>
      And session "s1" receives QoS 1 messages too

      @mqtt3 @A4
      Examples:
        | version | ending                  |
        | 3.1.1   | the connection closing  |
      @mqtt5 @A4
      Examples:
        | version | ending                                      |
        | 5       | a DISCONNECT with 0x8E (Session taken over) |

    # The owner in other letter case with Clean Start 1, or with no Username and its case-variant
    # certificate (CN=ALPHA, on the namespace that reads names from certificates), takes its active
    # session over too: Clean Start 0 resumes it, Clean Start 1 starts it afresh.
    Scenario Outline: identity "<identity>" with Clean Start <clean> and <username> takes the active session of alpha over: <outcome>
      Given identity "alpha" holds session "s1" over MQTT <version>
      When identity "<identity>" connects with session "s1", Clean Start <clean> and <username>
      Then the connection is accepted <outcome>
      And the older connection of session "s1" is ended by <ending>

      @mqtt3 @A4
      Examples:
        | version | identity    | clean | username                   | outcome              | ending                 |
        | 3.1.1   | alpha       | 1     | its Username in upper case | as a new session     | the connection closing |
      @mqtt3 @A4 @on-alternative-names-namespace
      Examples:
        | version | identity    | clean | username                   | outcome              | ending                 |
        | 3.1.1   | alpha-upper | 0     | no Username                | resuming its session | the connection closing |
        | 3.1.1   | alpha-upper | 1     | no Username                | as a new session     | the connection closing |
      @mqtt5 @A4
      Examples:
        | version | identity    | clean | username                   | outcome              | ending                                      |
        | 5       | alpha       | 1     | its Username in upper case | as a new session     | a DISCONNECT with 0x8E (Session taken over) |
      @mqtt5 @A4 @on-alternative-names-namespace
      Examples:
        | version | identity    | clean | username                   | outcome              | ending                                      |
        | 5       | alpha-upper | 0     | no Username                | resuming its session | a DISCONNECT with 0x8E (Session taken over) |
        | 5       | alpha-upper | 1     | no Username                | as a new session     | a DISCONNECT with 0x8E (Session taken over) |
