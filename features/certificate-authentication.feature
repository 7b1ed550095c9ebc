Feature: Client authentication with certificates
  A client proves its authentication name with its TLS client certificate, under the validation
  scheme registered for it, and must be registered and enabled in the namespace.
  Sources: https://learn.microsoft.com/azure/event-grid/mqtt-client-certificate-authentication
           https://learn.microsoft.com/azure/event-grid/mqtt-clients

  @A1
  Rule: a client must present a currently valid client certificate

    Scenario Outline: a client that presents no certificate is refused
      When a client without a certificate connects as identity "alpha" with session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    Scenario Outline: a client with <certificate> is refused
      When identity "<identity>" connects with session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version | identity           | certificate                               |
        | 3.1.1   | neg-expired        | an expired certificate                    |
        | 3.1.1   | neg-not-yet-valid  | a certificate that is not yet valid       |
        | 3.1.1   | neg-no-client-auth | a certificate not for client authentication |
      @mqtt5
      Examples:
        | version | identity           | certificate                               |
        | 5       | neg-expired        | an expired certificate                    |
        | 5       | neg-not-yet-valid  | a certificate that is not yet valid       |
        | 5       | neg-no-client-auth | a certificate not for client authentication |

  @A2
  Rule: only registered, enabled clients are accepted

    @S1
    Scenario Outline: a valid certificate presented with a Username that names no registered client is refused
      When identity "alpha" connects with a Username that names no registered client and session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    Scenario Outline: a client registered as Disabled is refused
      When identity "delta-disabled" connects with session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @A3
  Rule: the certificate must prove the authentication name under the client's validation scheme

    Scenario Outline: a certificate that proves its name under <scheme> is accepted
      When identity "<identity>" connects with session "a1" over MQTT <version>
      Then the connection is accepted

      @mqtt3
      Examples:
        | version | identity     | scheme                            |
        | 3.1.1   | alpha        | SubjectMatchesAuthenticationName  |
        | 3.1.1   | dns-client   | DnsMatchesAuthenticationName      |
        | 3.1.1   | uri-client   | UriMatchesAuthenticationName      |
        | 3.1.1   | ip-client    | IpMatchesAuthenticationName       |
        | 3.1.1   | email-client | EmailMatchesAuthenticationName    |
        | 3.1.1   | thumb-client | ThumbprintMatch                   |
      @mqtt5
      Examples:
        | version | identity     | scheme                            |
        | 5       | alpha        | SubjectMatchesAuthenticationName  |
        | 5       | dns-client   | DnsMatchesAuthenticationName      |
        | 5       | uri-client   | UriMatchesAuthenticationName      |
        | 5       | ip-client    | IpMatchesAuthenticationName       |
        | 5       | email-client | EmailMatchesAuthenticationName    |
        | 5       | thumb-client | ThumbprintMatch                   |

    Scenario Outline: a certificate that does not prove its name is refused: <certificate>
      When identity "<identity>" connects with session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version | identity                    | certificate                                  |
        | 3.1.1   | neg-unregistered-ca         | signed by a CA the namespace does not know   |
        | 3.1.1   | neg-subject-mismatch        | its subject is another name                  |
        | 3.1.1   | neg-thumbprint-unregistered | self-signed, thumbprint not registered       |
        | 3.1.1   | neg-dns-in-cn               | its DNS name only in the subject CN          |
        | 3.1.1   | neg-uri-in-cn               | its URI only in the subject CN               |
        | 3.1.1   | neg-ip-in-cn                | its IP address only in the subject CN        |
        | 3.1.1   | neg-email-in-cn             | its email address only in the subject CN     |
      @mqtt5
      Examples:
        | version | identity                    | certificate                                  |
        | 5       | neg-unregistered-ca         | signed by a CA the namespace does not know   |
        | 5       | neg-subject-mismatch        | its subject is another name                  |
        | 5       | neg-thumbprint-unregistered | self-signed, thumbprint not registered       |
        | 5       | neg-dns-in-cn               | its DNS name only in the subject CN          |
        | 5       | neg-uri-in-cn               | its URI only in the subject CN               |
        | 5       | neg-ip-in-cn                | its IP address only in the subject CN        |
        | 5       | neg-email-in-cn             | its email address only in the subject CN     |

    # Near misses (inferred: the docs say only that the scheme's field must match the name; names compare
    # without regard to case, documented, CLIENTS): a broker that matches by prefix, suffix, after trimming,
    # by look-alike letters or after Unicode normalisation accepts one of these, and one that reads the
    # last (or any) CN of a subject with two accepts the name in the second CN (which CN Event Grid reads
    # is not documented: the first names no client here, so no reading of one CN accepts it).
    Scenario Outline: a certificate whose name almost matches is refused: <certificate>
      When identity "<identity>" connects with session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version | identity             | certificate                                     |
        | 3.1.1   | neg-name-prefixes-cn | its subject CN is its name and one more letter  |
        | 3.1.1   | neg-cn-prefixes-name | its subject CN is its name less the last letter |
        | 3.1.1   | neg-name-ends-cn     | its subject CN ends with its name               |
        | 3.1.1   | neg-trailing-space   | its subject CN is its name and a space          |
        | 3.1.1   | neg-trailing-dot     | its subject CN is its name and a dot            |
        | 3.1.1   | neg-look-alike       | its subject CN has Cyrillic look-alike letters  |
        | 3.1.1   | neg-nfd              | its subject CN is its name decomposed (NFD)     |
        | 3.1.1   | neg-second-cn        | its subject has two CNs, its name in the second |
      @mqtt5
      Examples:
        | version | identity             | certificate                                     |
        | 5       | neg-name-prefixes-cn | its subject CN is its name and one more letter  |
        | 5       | neg-cn-prefixes-name | its subject CN is its name less the last letter |
        | 5       | neg-name-ends-cn     | its subject CN ends with its name               |
        | 5       | neg-trailing-space   | its subject CN is its name and a space          |
        | 5       | neg-trailing-dot     | its subject CN is its name and a dot            |
        | 5       | neg-look-alike       | its subject CN has Cyrillic look-alike letters  |
        | 5       | neg-nfd              | its subject CN is its name decomposed (NFD)     |
        | 5       | neg-second-cn        | its subject has two CNs, its name in the second |

    Scenario Outline: a certificate that proves its name <how> is accepted
      When identity "<identity>" connects with session "a1" over MQTT <version>
      Then the connection is accepted

      @mqtt3 @A4
      Examples:
        | version | identity      | how                                               |
        | 3.1.1   | cn-upper-case | in other letter case (documented: CLIENTS)         |
      @mqtt3
      Examples:
        | version | identity      | how                                               |
        | 3.1.1   | dns-second    | in the second of its two DNS names (inferred)     |
      @mqtt5 @A4
      Examples:
        | version | identity      | how                                               |
        | 5       | cn-upper-case | in other letter case (documented: CLIENTS)         |
      @mqtt5
      Examples:
        | version | identity      | how                                               |
        | 5       | dns-second    | in the second of its two DNS names (inferred)     |

    Scenario Outline: a valid certificate presented under another identity's name is refused
      When identity "beta" connects as "alpha" with session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @A4
  Rule: authentication names compare without regard to case, and an empty one names no client

    # The mirror's control (alpha's own Username) runs while "a1" is still open: two sessions of alpha at once.
    @needs-two-sessions
    Scenario Outline: a Username in other letter case names the same client, and one naming no client is refused
      When identity "alpha" connects with Username "ALPHA" and session "a1" over MQTT <version>
      Then the connection is accepted
      But the same CONNECT with a Username that names no registered client is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

    Scenario Outline: a valid certificate with an empty Username is refused
      When identity "alpha" connects with an empty Username and session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  @A5 @on-alternative-names-namespace
  Rule: with no Username, the authentication name is read from the configured certificate fields in order
    These scenarios run on a second namespace whose alternativeAuthenticationNameSources are
    ClientCertificateDns, then ClientCertificateSubject.

    Scenario Outline: <identity> without a Username is named by <field>
      When identity "<identity>" connects without a Username with session "a1" over MQTT <version>
      Then the connection is accepted

      @mqtt3
      Examples:
        | version | identity   | field                                                     |
        | 3.1.1   | dns-client | its DNS name, not its subject, which names no client      |
        | 3.1.1   | alpha      | its subject, as it has no DNS name                        |
      @mqtt5
      Examples:
        | version | identity   | field                                                     |
        | 5       | dns-client | its DNS name, not its subject, which names no client      |
        | 5       | alpha      | its subject, as it has no DNS name                        |

    # Inferred, as A3's near miss: a broker that takes a subject's last CN as its name accepts this one.
    Scenario Outline: <identity> without a Username is refused: <field>
      When identity "<identity>" connects without a Username with session "a1" over MQTT <version>
      Then the connection is refused

      @mqtt3 @A3
      Examples:
        | version | identity      | field                                            |
        | 3.1.1   | neg-second-cn | its subject has two CNs, its name in the second  |
      @mqtt5 @A3
      Examples:
        | version | identity      | field                                            |
        | 5       | neg-second-cn | its subject has two CNs, its name in the second  |

  @A6
  Rule: failed authentication is refused at CONNECT

    Scenario Outline: an authentication failure is answered with a refusing CONNACK
      When identity "neg-subject-mismatch" connects with session "a1" over MQTT <version>
      Then the connection is refused with a CONNACK

      @mqtt3
      Examples:
        | version |
        | 3.1.1   |
      @mqtt5
      Examples:
        | version |
        | 5       |

  # The life cycle events end such a connection with ClientAuthenticationError: "client got disabled,
  # or client configuration changed" (https://learn.microsoft.com/azure/event-grid/mqtt-client-life-cycle-events).
  # The change is made through the reference's management API: Event Grid's is an ARM update.
  @A7 @changes-clients
  Rule: a client disabled, or given other credentials, while connected has its live connection ended

    Scenario Outline: the namespace <change> identity "thumb-client": its connection ends, another client's goes on
      Given identity "thumb-client" holds session "t1" over MQTT <version>
      And identity "alpha" holds session "a1" over MQTT <version>
      When the namespace <change> identity "thumb-client"
      Then the connection of session "t1" is ended as its client changed
      And identity "alpha" is still connected on session "a1" and still receives QoS 1 messages

      @mqtt3
      Examples:
        | version | change                     |
        | 3.1.1   | disables                   |
        | 3.1.1   | changes the credentials of |
      @mqtt5
      Examples:
        | version | change                     |
        | 5       | disables                   |
        | 5       | changes the credentials of |
