Feature: Session lifetime and persistence
  A persistent session outlives its connection for at most the namespace's maximum session expiry,
  keeping its subscriptions and the QoS 1 messages it missed; Clean Start discards it.
  Sources: https://learn.microsoft.com/azure/event-grid/mqtt-support
           https://learn.microsoft.com/javascript/api/@azure/arm-eventgrid

  @L1
  Rule: the Session Expiry Interval is capped at the namespace maximum

    @mqtt5
    Scenario: a longer Session Expiry Interval is lowered, and the CONNACK reports the value in force
      When identity "alpha" connects with session "s1" asking for a session expiry of 4294967295 seconds over MQTT 5
      Then the connection is accepted
      And the CONNACK reports the namespace's maximum session expiry

    @mqtt3 @slow
    Scenario: a persistent MQTT 3.1.1 session lives for the namespace maximum, then ends
      Given identity "alpha" holds session "s1" over MQTT 3.1.1
      And session "s1" disconnects
      When session "s1" expires
      And identity "alpha" connects with session "s1"
      Then the connection is accepted as a new session

  @L2
  Rule: a persistent session keeps its subscriptions and the QoS 1 messages it missed

    Scenario Outline: messages published while the owner is away are delivered when it resumes
      Given identity "alpha" holds session "s1" over MQTT <version>
      And session "s1" disconnects
      And a QoS 1 message "while away" is published to session "s1"
      When identity "alpha" connects with session "s1"
      Then the connection is accepted resuming its session
      And session "s1" receives "while away"

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    # MQTT 5: no Session Expiry Interval is 0, so the session ends with this connection; it still
    # resumes now, with what it had queued [MQTT-3.1.2-5].
    @mqtt5
    Scenario: a session resumed with no Session Expiry Interval gets the messages it missed, then ends with that connection
      Given identity "alpha" holds session "s1" over MQTT 5
      And session "s1" disconnects
      And a QoS 1 message "while away" is published to session "s1"
      When identity "alpha" connects with session "s1" and no Session Expiry Interval
      Then the connection is accepted resuming its session
      And session "s1" receives "while away"
      When session "s1" disconnects
      And identity "alpha" connects with session "s1"
      Then the connection is accepted as a new session

  @L3
  Rule: Clean Start discards the previous session

    Scenario Outline: a Clean Start connection starts afresh
      Given identity "alpha" holds session "s1" over MQTT <version>
      And session "s1" disconnects
      And a QoS 1 message "stale" is published to session "s1"
      When identity "alpha" connects with session "s1" and Clean Start
      Then the connection is accepted as a new session
      And session "s1" does not receive "stale"

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |
