Feature: Microsoft Entra ID tokens and Azure role assignments
  A managed identity or service principal may authenticate with a Microsoft Entra ID token: MQTT 5
  only, CONNECT Authentication Method OAUTH2-JWT with the token as Authentication Data, for the audience
  https://eventgrid.azure.net/. What it may publish and subscribe to is granted by Azure role assignments
  (EventGrid TopicSpaces Publisher, EventGrid TopicSpaces Subscriber) at namespace or topic space scope,
  not by permission bindings. The clients of an @oauth2-jwt scenario present a token of the reference
  broker's Entra ID stand-in (reference.entraId), whose principals are the set's identities: each client
  holds both roles on the suite's own-topics space, gamma only the Subscriber role. The session rules
  under an Entra ID token (S1, S5, S6, S8) are the OAUTH2-JWT Examples of their own scenarios
  (multiple-sessions, session-names, takeover).
  Source: https://learn.microsoft.com/azure/event-grid/mqtt-client-microsoft-entra-token-and-rbac

  @E1
  Rule: an Entra ID token of the namespace's tenant authenticates, its object id naming the client

    @mqtt5 @oauth2-jwt
    Scenario: a principal's token is accepted, and the client it names has the principal's own topics
      Given identity "alpha" holds session "s1" over MQTT 5
      When session "s1" subscribes to its own topic
      Then the subscription is granted

    @mqtt5 @oauth2-jwt
    Scenario: a token of another tenant is refused
      When identity "alpha" connects with session "s1" presenting an Entra ID token of another tenant over MQTT 5
      Then the connection is refused

  @E2
  Rule: role assignments, not permission bindings, say where an Entra ID client may publish and subscribe

    @mqtt5 @oauth2-jwt
    Scenario: a principal with both roles publishes and subscribes on its topic space, and not on another's topics
      Given identity "alpha" holds session "s1" over MQTT 5
      When session "s1" subscribes to its own topic
      Then the subscription is granted
      When session "s1" publishes "to myself" to its own topic
      Then the publication is accepted
      And session "s1" receives "to myself"
      When session "s1" subscribes to a topic of identity "beta"
      Then the subscription is refused as not authorized

    @mqtt5 @oauth2-jwt
    Scenario: a principal with only the Subscriber role may subscribe, not publish
      Given identity "gamma" holds session "g1" over MQTT 5
      When session "g1" subscribes to its own topic
      Then the subscription is granted
      When session "g1" publishes "not mine to send" to its own topic
      Then the publication is refused as not authorized
