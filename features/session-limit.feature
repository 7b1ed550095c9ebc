Feature: Sessions per authentication name
  A namespace caps how many sessions one authentication name may hold, connected and held alike
  (maximumClientSessionsPerAuthenticationName), whichever way its client authenticates.
  Sources: https://learn.microsoft.com/javascript/api/@azure/arm-eventgrid
           https://learn.microsoft.com/azure/event-grid/mqtt-support

  @S9 @needs-known-session-limit
  Rule: one session more than the limit is refused

    Scenario Outline: an identity at its limit of connected sessions cannot open another
      Given a refusal here is controlled by the same CONNECT from identity "gamma"
      And identity "beta" holds as many sessions as the namespace allows over MQTT <version>
      When identity "beta" connects with session "one-too-many"
      Then the connection is refused

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

    Scenario Outline: held sessions count against the limit too
      Given a refusal here is controlled by the same CONNECT from identity "gamma"
      And identity "beta" holds as many sessions as the namespace allows over MQTT <version>
      And every session of identity "beta" disconnects
      When identity "beta" connects with session "one-too-many"
      Then the connection is refused
      When identity "beta" connects with session "beta-1"
      Then the connection is accepted

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |
