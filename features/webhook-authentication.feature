Feature: Webhook authentication, and the session rules under it
  A namespace may send each CONNECT to a webhook, which answers "allow" with the client's authentication
  name and attributes, or "deny"; Event Grid refuses a denied client as not authorized, and one whose
  webhook timed out or failed as server unavailable. Every client of a @webhook scenario connects to a
  namespace that authenticates by the suite's test webhook, with no certificate and the password that
  has it allow the identity, named as the identity is, unless a step says otherwise. The session rules
  under the webhook (S1, S4-S9) are the webhook Examples of their own scenarios (multiple-sessions,
  session-names, session-limit, takeover).
  Source: https://learn.microsoft.com/azure/event-grid/authenticate-with-namespaces-using-webhook-authentication

  @W1
  Rule: the webhook names the client, whatever the Username

    @S6 @webhook
    Scenario Outline: the webhook's clientAuthenticationName names the client, not the Username
      Given identity "alpha" connects with Username "beta" and session "s1" over MQTT <version>
      And the connection is accepted
      When identity "beta" connects with session "s1"
      Then the connection is refused as not authorized

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @W2
  Rule: a client the webhook denies is refused as not authorized

    @webhook
    Scenario Outline: a CONNECT the webhook denies is refused
      When identity "alpha" connects with session "s1" and a password the webhook denies over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @W3
  Rule: a webhook that does not answer in time, fails or answers nonsense is a refusal as server unavailable

    @webhook
    Scenario Outline: a CONNECT whose webhook does not answer well is refused, not left waiting
      When identity "alpha" connects with session "s1" and a password the webhook answers <answer> over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | answer       | version |
        | too late     | 3.1.1   |
        | nonsense     | 3.1.1   |
        | with a fault | 3.1.1   |
      @mqtt5
      Examples:
        | answer       | version |
        | too late     | 5       |
        | nonsense     | 5       |
        | with a fault | 5       |

  @P1 @P3
  Rule: the attributes a webhook gives its client put it in client groups, as a registered client's do

    @webhook
    Scenario Outline: a webhook's client subscribes to and publishes on its own topics, and not on another's
      Given identity "alpha" holds session "s1" over MQTT <version>
      When session "s1" subscribes to its own topic
      Then the subscription is granted
      When session "s1" publishes "to myself" to its own topic
      Then the publication is accepted
      And session "s1" receives "to myself"
      When session "s1" subscribes to a topic of identity "beta"
      Then the subscription is refused as not authorized

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |
