# Shared subscriptions (M3): what several sessions of one client are for when they share a stream.
Feature: shared subscriptions
  Event Grid documents shared subscriptions as MQTT 5 only: an MQTT 3.1.1 client that subscribes to
  $share/... is disconnected. It says persistent sessions make a group's delivery more reliable: the
  reading is that a message for a group none of whose sessions is connected waits in one member's
  session until it resumes. MQTT 5 sends no retained message on a shared subscription.
  Sources: https://learn.microsoft.com/azure/event-grid/mqtt-shared-subscriptions
           https://docs.oasis-open.org/mqtt/mqtt/v5.0/mqtt-v5.0.html (4.8.2)

  @M3
  Rule: each message matching $share/{group}/{filter} goes to one active session of the group; groups are independent; access control judges the filter

    @needs-three-sessions
    Scenario Outline: two and three sessions of one identity in a group receive every message once across them
      Given identity "alpha" holds session "w1" over MQTT <version>
      And identity "alpha" holds session "w2" over MQTT <version>
      And identity "alpha" holds session "w3" over MQTT <version>
      When sessions "w1, w2" join group "pair" on a shared topic of identity "alpha"
      And 20 QoS 1 messages are published to the shared topic of identity "alpha"
      Then sessions "w1, w2" together receive each of the 20 messages of identity "alpha" exactly once
      When sessions "w3" join group "pair" on a shared topic of identity "alpha"
      And 30 QoS 1 messages are published to the shared topic of identity "alpha"
      Then sessions "w1, w2, w3" together receive each of the 30 messages of identity "alpha" exactly once

      @mqtt5
      Examples:
        | version |
        | 5       |

    Scenario Outline: two groups on one topic each receive every message
      Given identity "alpha" holds session "g1" over MQTT <version>
      And identity "alpha" holds session "g2" over MQTT <version>
      When sessions "g1" join group "first" on a shared topic of identity "alpha"
      And sessions "g2" join group "second" on a shared topic of identity "alpha"
      And 10 QoS 1 messages are published to the shared topic of identity "alpha"
      Then sessions "g1" together receive each of the 10 messages of identity "alpha" exactly once
      And sessions "g2" together receive each of the 10 messages of identity "alpha" exactly once

      @mqtt5
      Examples:
        | version |
        | 5       |

    @mqtt5
    Scenario: with no session of the group connected, each message waits in a member's held session; resumed, the group receives each once
      Given identity "alpha" holds session "w1" over MQTT 5
      And identity "alpha" holds session "w2" over MQTT 5
      When sessions "w1, w2" join group "pair" on a shared topic of identity "alpha"
      And session "w1" disconnects
      And session "w2" disconnects
      And 10 QoS 1 messages are published to the shared topic of identity "alpha"
      And identity "alpha" connects with session "w1"
      And identity "alpha" connects with session "w2"
      Then sessions "w1, w2" together receive each of the 10 messages of identity "alpha" exactly once

    @mqtt5
    Scenario: a session joining a group is sent no retained message; a plain subscription to the same topic is
      Given identity "alpha" holds session "w1" over MQTT 5
      When a retained message is published to the shared topic of identity "alpha"
      And sessions "w1" join group "solo" on a shared topic of identity "alpha"
      Then session "w1" is sent no retained message on the shared topic of identity "alpha", and a plain subscription to it is

    Scenario Outline: a shared subscription to a filter outside the client's topic spaces is refused as not authorized
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" subscribes to a topic outside the granted topic spaces in group "outsiders"
      Then the subscription is refused as not authorized

      @mqtt5
      Examples:
        | version |
        | 5       |

  @M6
  Rule: shared subscriptions are MQTT 5 only: an MQTT 3.1.1 client subscribing to $share is disconnected

    @mqtt3
    Scenario: an MQTT 3.1.1 session subscribing to $share is disconnected; a plain subscription on the same connection is granted first
      Given identity "alpha" holds session "s1" over MQTT 3.1.1
      Then session "s1" subscribing at QoS 1 is granted QoS 1
      And session "s1" joining group "workers" on a shared topic of identity "alpha" ends its connection
