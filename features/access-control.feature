Feature: Access control: client groups, topic spaces and permission bindings
  In an Event Grid namespace a client may publish or subscribe only where a permission binding gives
  its client group the Publisher or Subscriber role on a topic space. Topic templates may hold the
  variable ${client.authenticationName}, so one binding gives every client its own topics. The suite's
  topics are <root>/<authentication name>/<session>/inbox (docs/access-control.md). A client's Will is
  a PUBLISH the namespace makes for it, on a topic the client must be allowed to publish to.
  Sources: https://learn.microsoft.com/azure/event-grid/mqtt-access-control
           https://learn.microsoft.com/azure/event-grid/mqtt-topic-spaces
           https://learn.microsoft.com/azure/event-grid/mqtt-client-groups

  @P1
  Rule: a client publishes and subscribes on the topic spaces its client group is bound to

    Scenario Outline: a client subscribes to and publishes on its own topics
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" subscribes to its own topic
      Then the subscription is granted
      When session "s1" publishes "to myself" to its own topic
      Then the publication is accepted
      And session "s1" receives "to myself"

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    # A Will is a PUBLISH the namespace makes for the client when its connection is lost.
    @needs-two-sessions
    Scenario Outline: a will on the client's own topic is published when its connection is lost
      Given identity "alpha" holds session "watcher" over MQTT <version>
      When identity "alpha" connects with session "s1" and a QoS 1 will on the topic of session "watcher" over MQTT <version>
      Then the connection is accepted
      When session "watcher" subscribes at QoS 1 to the will topic of session "s1"
      Then the subscription is granted
      When the connection of session "s1" drops without a DISCONNECT
      Then session "watcher" receives the will of session "s1" at QoS 1

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @P2
  Rule: outside the bound topic spaces a SUBSCRIBE is refused and a PUBLISH is not delivered

    Scenario Outline: a subscription outside the bound topic spaces is refused
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" subscribes to a topic outside the granted topic spaces
      Then the subscription is refused as not authorized
      When session "s1" subscribes to its own topic
      Then the subscription is granted

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    # 3.1.1 has no code to refuse a PUBLISH with, and nobody may subscribe there to see it not arrive:
    # over 3.1.1 non-delivery is shown by P3's scenario.
    Scenario Outline: a publication outside the bound topic spaces is answered not authorized
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" publishes "own" to its own topic
      Then the publication is accepted
      When session "s1" publishes "stray" to a topic outside the granted topic spaces
      Then the publication is refused as not authorized

      @mqtt5
      Examples:
        | version |
        | 5       |

    # A Will is judged as the PUBLISH it would become, at CONNECT (inferred: the docs describe wills, not
    # how their topic is authorized). The control is the same CONNECT with its will on its own topic.
    Scenario Outline: a CONNECT whose will lies outside the granted topic spaces is refused as not authorized
      When identity "alpha" connects with session "s1" and a will on a topic outside the granted topic spaces over MQTT <version>
      Then the connection is refused as not authorized

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @P3
  Rule: a topic template variable gives each client its own topics

    Scenario Outline: a client may not subscribe to another client's topics
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" subscribes to a topic of identity "beta"
      Then the subscription is refused as not authorized
      When session "s1" subscribes to its own topic
      Then the subscription is granted

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    Scenario Outline: a message a client publishes on another client's topic is not delivered
      Given identity "beta" holds session "b1" over MQTT <version>
      And identity "alpha" holds session "a1" over MQTT <version>
      When session "a1" publishes "own" to its own topic
      Then the publication is accepted
      When session "a1" publishes "forged" to the topic of session "b1"
      Then the publication is refused as not authorized
      And session "b1" does not receive "forged"

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    Scenario Outline: a CONNECT whose will is on another client's topic is refused as not authorized
      When identity "alpha" connects with session "s1" and a will on a topic of identity "beta" over MQTT <version>
      Then the connection is refused as not authorized

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @P4
  Rule: every session of a client has the client's permissions

    @needs-two-sessions
    Scenario Outline: a client's second session may use its topics, and no one else's
      Given identity "alpha" holds session "s1" over MQTT <version>
      And identity "alpha" holds session "s2" over MQTT <version>
      When session "s2" subscribes to the topic of session "s1"
      Then the subscription is granted
      When session "s2" publishes "from s2" to the topic of session "s1"
      Then the publication is accepted
      And session "s1" receives "from s2"
      When session "s2" subscribes to a topic of identity "beta"
      Then the subscription is refused as not authorized

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  # The life cycle events end such a connection with ClientAuthorizationError: "a change in the
  # configuration of topic spaces, permission bindings, or client groups"
  # (https://learn.microsoft.com/javascript/api/@azure/eventgrid/knowneventgridmqttclientdisconnectionreason).
  # The change is made through the reference's management API: Event Grid's is an ARM update.
  @P5 @changes-clients
  Rule: a client moved out of its client group while connected has its live connection ended

    Scenario Outline: the namespace moves identity "thumb-client" out of its client group: its connection ends, another client's goes on
      Given identity "thumb-client" holds session "t1" over MQTT <version>
      And identity "alpha" holds session "a1" over MQTT <version>
      When the namespace moves out of its client group identity "thumb-client"
      Then the connection of session "t1" is ended as its client changed
      And identity "alpha" is still connected on session "a1" and still receives QoS 1 messages

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |
