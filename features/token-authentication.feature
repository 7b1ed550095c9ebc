Feature: Custom JWT authentication, and the session rules under it
  A client may authenticate with a JSON Web Token of an identity provider the namespace trusts instead of
  a client certificate: MQTT 5 only, CONNECT Authentication Method CUSTOM-JWT with the token as its
  Authentication Data. The namespace holds the issuer's certificates (at most two), the issuer and the
  audience it expects; the identity comes from the token, so no client is registered for it. Every client
  of a @custom-jwt scenario presents a token of the PKI set's local issuer for its identity (npm run token)
  and no certificate, unless a step says otherwise.
  Sources: https://learn.microsoft.com/azure/event-grid/mqtt-client-custom-jwt
           https://learn.microsoft.com/azure/event-grid/authenticate-with-namespaces-using-json-web-tokens

  @S1 @T1
  Rule: the session rules hold for a token's identity as for a certificate's

    @needs-two-sessions @mqtt5 @custom-jwt
    Scenario: an identity opens two sessions at once with its token
      Given identity "alpha" holds session "s1" over MQTT 5
      When identity "alpha" connects with session "s2"
      Then the connection is accepted
      And identity "alpha" is still connected on session "s1" and still receives QoS 1 messages
      And session "s2" receives QoS 1 messages too

  @S6
  Rule: another token identity presenting an active session's name is refused as not authorized

    @mqtt5 @custom-jwt
    Scenario: a second identity's token cannot take over an active session, and the owner is undisturbed
      Given identity "alpha" holds session "s1" over MQTT 5
      When identity "beta" connects with session "s1"
      Then the connection is refused as not authorized
      And identity "alpha" is still connected on session "s1" and still receives QoS 1 messages

    @T1 @mqtt5 @custom-jwt
    Scenario: the token's subject names the client, not the Username: another identity is refused the session
      Given identity "alpha" connects with Username "beta" and session "s1" over MQTT 5
      And the connection is accepted
      When identity "beta" connects with session "s1"
      Then the connection is refused as not authorized

  @S8
  Rule: the same token identity reconnecting with its session name takes the session over

    @mqtt5 @custom-jwt
    Scenario: a second connection of the owner takes over a persistent session
      Given identity "alpha" holds session "s1" over MQTT 5
      When identity "alpha" connects with session "s1"
      Then the connection is accepted resuming its session
      And the older connection of session "s1" is ended by a DISCONNECT with 0x8E (Session taken over)
      And session "s1" receives QoS 1 messages too

  @T1
  Rule: a token names its client by its subject

    @mqtt5 @custom-jwt
    Scenario: a token with no subject is refused
      When identity "alpha" connects with session "s1" presenting a token with no subject over MQTT 5
      Then the connection is refused

  @T2
  Rule: a token is accepted only within its validity

    @mqtt5 @custom-jwt
    Scenario Outline: a token outside its validity is refused
      When identity "alpha" connects with session "s1" presenting <token> over MQTT 5
      Then the connection is refused

      Examples:
        | token                 |
        | an expired token      |
        | a token not yet valid |

  @T3
  Rule: a token must be the namespace's issuer's, for the namespace's audience

    @mqtt5 @custom-jwt
    Scenario Outline: a token of another issuer or for another audience is refused
      When identity "alpha" connects with session "s1" presenting <token> over MQTT 5
      Then the connection is refused

      Examples:
        | token                         |
        | a token of another issuer     |
        | a token for another audience  |

  @T4
  Rule: a token must be signed with the key of one of the namespace's issuer certificates

    @mqtt5 @custom-jwt
    Scenario: a token signed by a key the namespace does not trust is refused
      When identity "alpha" connects with session "s1" presenting a token signed by a key the namespace does not trust over MQTT 5
      Then the connection is refused

  @T5
  Rule: a custom JWT is presented under the Authentication Method CUSTOM-JWT

    @mqtt5 @custom-jwt
    Scenario: a good token under another method name is refused
      When identity "alpha" connects with session "s1" presenting its token under the Authentication Method "JWT" over MQTT 5
      Then the connection is refused

  @T6
  Rule: token authentication is MQTT 5 only

    @mqtt3 @custom-jwt
    Scenario: an MQTT 3.1.1 CONNECT with a token as its password and no certificate is refused
      When identity "alpha" connects with session "s1" presenting its token as its password over MQTT 3.1.1
      Then the connection is refused

  @T7
  Rule: an AUTH packet of reason 0x19 with a fresh token re-authenticates; one that fails ends the connection

    @mqtt5 @custom-jwt
    Scenario: re-authenticating with a fresh token keeps the connection past its first token's expiry
      Given identity "alpha" connects with session "s1" and a token that expires in 1 second over MQTT 5
      Then the connection is accepted
      When session "s1" re-authenticates with a fresh token
      Then session "s1" is still connected once its first token has expired
      And session "s1" receives QoS 1 messages too

    @mqtt5 @custom-jwt
    Scenario Outline: re-authenticating with a token that fails its checks ends the connection
      Given identity "alpha" holds session "s1" over MQTT 5
      When session "s1" re-authenticates with a fresh token
      Then session "s1" re-authenticating with <token> ends its connection

      Examples:
        | token                                                |
        | an expired token                                     |
        | a token signed by a key the namespace does not trust |

  @T8
  Rule: a connection whose token expires without re-authentication is ended

    @mqtt5 @custom-jwt
    Scenario: a token expiring unrenewed ends its connection
      Given identity "alpha" connects with session "s1" and a token that expires in 1 second over MQTT 5
      Then the connection is accepted
      And the connection of session "s1" is ended when its token expires

  @P1 @P3
  Rule: a token's claims are its client's attributes: client groups and topic templates apply as to a registered client

    @mqtt5 @custom-jwt
    Scenario: a token's client subscribes to and publishes on its own topics, and not on another's
      Given identity "alpha" holds session "s1" over MQTT 5
      When session "s1" subscribes to its own topic
      Then the subscription is granted
      When session "s1" publishes "to myself" to its own topic
      Then the publication is accepted
      And session "s1" receives "to myself"
      When session "s1" subscribes to a topic of identity "beta"
      Then the subscription is refused as not authorized

  @L22
  Rule: Authentication Data is at most 8 KB

    @mqtt5 @custom-jwt
    Scenario: a token just past 8192 bytes is refused; the same token padded to just within is accepted
      When identity "alpha" connects with session "s1" presenting a token just past 8 KB over MQTT 5
      Then the connection is refused
